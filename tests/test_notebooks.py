"""The study notebooks: committed executed, each ending with its conclusion, and re-executed here from the
cached data they ship with, their deterministic outputs (cells tagged ``deterministic``) equal to the committed
ones."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def text_outputs(cell: nbformat.NotebookNode) -> list[str]:
    return [o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
            for o in cell.get("outputs", []) if o.output_type != "stream" or o.get("name") == "stdout"]


def test_there_are_notebooks():
    assert PATHS, f"no notebook in {NOTEBOOKS}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_a_notebook_is_committed_executed_with_its_conclusion(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run every cell once, in order"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert str(NOTEBOOKS.parent) not in path.read_text(), "an output names this machine's paths"
    last = notebook.cells[-1]
    assert last.cell_type == "markdown" and "## Conclusion" in last.source and "Recommended config" in last.source


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_a_notebook_runs_again_to_the_same_deterministic_outputs(path):
    committed = nbformat.read(path, as_version=4)
    fresh = copy.deepcopy(committed)
    NotebookClient(fresh, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    tagged = [i for i, c in enumerate(committed.cells) if "deterministic" in c.metadata.get("tags", [])]
    assert tagged, "tag the cells whose outputs must not change ('deterministic')"
    for i in tagged:
        assert text_outputs(fresh.cells[i]) == text_outputs(committed.cells[i]), f"cell {i} of {path.name}"
