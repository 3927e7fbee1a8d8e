"""The layout rules of ../shared/ARCHITECTURE.md, checked on avm's own imports (read from the source, not run)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "avm"

# third-party package → the avm packages that may import it
ONLY_IN = {
    "ray": ("avm.pipeline",),
    "lancedb": ("avm.index",),
    "lance": ("avm.index",),
    "ffmpeg": ("avm.media", "avm.bench"),
    "av": ("avm.media", "avm.bench"),
    "imageio_ffmpeg": ("avm.media",),
    "torch": ("avm.models", "avm.fingerprint", "avm.train"),
    "hydra": (),  # configs are composed by jobs/; avm takes the option objects
    "fastapi": ("avm.review",),
    "starlette": ("avm.review",),

}
# avm package → avm packages it must never import (the data flows one way)
NEVER = {
    "avm.media": ("avm.index", "avm.models", "avm.fingerprint", "avm.match", "avm.pipeline", "avm.train", "avm.review"),
    "avm.models": ("avm.media", "avm.index", "avm.match", "avm.pipeline", "avm.train", "avm.evaluate", "avm.review"),
    "avm.fingerprint": ("avm.index", "avm.match", "avm.pipeline", "avm.train", "avm.evaluate", "avm.review"),
    "avm.index": ("avm.models", "avm.media", "avm.fingerprint", "avm.match", "avm.pipeline", "avm.train", "avm.review"),
    "avm.match": ("avm.models", "avm.media", "avm.fingerprint", "avm.pipeline", "avm.train", "avm.evaluate", "avm.review"),
    "avm.train": ("avm.index", "avm.match", "avm.pipeline", "avm.evaluate", "avm.review"),
    "avm.evaluate": ("avm.index", "avm.match", "avm.pipeline", "avm.train", "avm.models", "avm.fingerprint", "avm.review"),
    "avm.pipeline": ("avm.train", "avm.evaluate", "avm.review"),
    "avm.review": ("avm.train",),
    "avm.bench": ("avm.index", "avm.match", "avm.pipeline", "avm.train", "avm.models", "avm.fingerprint", "avm.review"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (``from a import b`` counts as ``a`` and ``a.b``)."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def avm_modules() -> dict[str, set[str]]:
    """Every avm module and the avm modules it imports."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py") if "conf" not in p.relative_to(PACKAGE).parts}
    graph = {}
    for name, path in paths.items():
        graph[name] = {m for m in imports_of(path) if m in paths and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_cycle_between_modules():
    cycle = find_cycle(avm_modules())
    assert cycle is None, f"import cycle: {' → '.join(cycle)}"


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def _allowed(module: str, owners: tuple[str, ...]) -> bool:
    return any(module == o or module.startswith(o + ".") for o in owners)


@pytest.mark.parametrize("library", sorted(ONLY_IN))
def test_third_party_libraries_stay_in_their_package(library):
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        module = module_name(path)
        uses = {name.split(".")[0] for name in imports_of(path)}
        if library in uses and not _allowed(module, ONLY_IN[library]):
            offenders.append(module)
    assert not offenders, f"{library} imported outside {ONLY_IN[library]}: {sorted(offenders)}"


def test_packages_import_only_the_stages_before_them():
    offenders = []
    for module, deps in avm_modules().items():
        for package, forbidden in NEVER.items():
            if _allowed(module, (package,)):
                offenders += [f"{module} → {d}" for d in deps if _allowed(d, forbidden)]
    assert not offenders, "imports against the data flow: " + ", ".join(sorted(offenders))
