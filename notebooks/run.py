"""Execute the study notebooks in place, saving their outputs: ``python notebooks/run.py [NAME.ipynb ...]``
(default: every notebook of this folder), each with this folder as its working directory. ``make notebooks``
runs it after installing the ``notebooks`` extra."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 1800  # per cell


def without_stderr(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without its cells' stderr streams (library warnings that name this machine's paths)."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.get("name") == "stderr")]
    return notebook


def execute(path: Path) -> float:
    """Run every cell of the notebook at ``path`` in a fresh kernel and write it back with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.write(without_stderr(notebook), path)
    return time.perf_counter() - started


def main() -> None:
    paths = [HERE / name for name in sys.argv[1:]] or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        print(f"executed {path.name} in {execute(path):.0f} s", flush=True)


if __name__ == "__main__":
    main()
