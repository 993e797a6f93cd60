"""No import cycles: not between carelay's packages, not between the parts of one package, not between modules.

The graph is read from the source with `ast`, every import counted wherever it stands (an import inside a
function is still a dependency), except under `if TYPE_CHECKING:`. A cycle fails the test with its path.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("carelay", "schemas", "access", "process", "connectors", "streams", "gateway", "analytics", "agents",
            "stack")
Graph = Mapping[str, set[str]]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else ():
            found[module_name(path)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterable[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            yield from _imports(ast.Module(body=node.orelse, type_ignores=[]))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _imports(node)


def imported(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The project's modules that module `name` imports (`from p import m` names module p.m when it is one)."""
    modules = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name inside a.b: the module a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def module_graph() -> dict[str, set[str]]:
    found = sources()
    return {name: imported(name, path, found) for name, path in found.items()}


def collapse(graph: Graph, part: str, depth: int) -> dict[str, set[str]]:
    """The graph among the parts one level below `part` ('' = the top-level packages): a module stands for
    the part it lies in; imports within one part, and to or from outside `part`, are left out."""
    prefix = f"{part}." if part else ""

    def owner(module: str) -> str | None:
        if part and not module.startswith(prefix):
            return None
        pieces = module.split(".")
        return ".".join(pieces[: depth + 1]) if len(pieces) > depth else None

    out: dict[str, set[str]] = {}
    for source, targets in graph.items():
        a = owner(source)
        if a is None:
            continue
        out.setdefault(a, set())
        for target in targets:
            b = owner(target)
            if b is not None and b != a:
                out[a].add(b)
    return out


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle (a path that ends where it starts) from each strongly connected group of two or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan; the graphs are small enough for recursion
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_path_in(graph, group) for group in groups]


def _path_in(graph: Graph, group: set[str]) -> list[str]:
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:  # breadth first from start, back to start, within the group
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    return [*paths[node], start]
                if nxt in group and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return sorted(group)


def levels(graph: Graph) -> list[tuple[str, int]]:
    """(part, depth) for the top-level packages and every package inside them."""
    packages = {name for name, path in sources().items() if path.name == "__init__.py"}
    return [("", 0), *((name, name.count(".") + 1) for name in sorted(packages))]


def test_the_cycle_finder_names_a_cycle() -> None:
    graph = {"a.x": {"b.y"}, "b.y": {"a.z"}, "a.z": set(), "a.w": {"a.v"}, "a.v": {"a.w"}}
    assert cycles(collapse(graph, "", 0)) == [["a", "b", "a"]]
    assert cycles(collapse(graph, "a", 1)) == [["a.v", "a.w", "a.v"]]
    assert cycles(graph) == [["a.v", "a.w", "a.v"]]


def test_an_import_inside_a_function_counts(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import p.t\n"
                    "def f():\n    from p import q\n    import p.r.s\n", encoding="utf-8")
    assert imported("p.m", path, {"p", "p.q", "p.r", "p.t", "p.m"}) == {"p.q", "p.r"}


def test_modules_import_no_cycle() -> None:
    found = cycles(module_graph())
    assert not found, "import cycles between modules: " + "; ".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("part,depth", levels(module_graph()), ids=lambda v: str(v) or "packages")
def test_packages_import_no_cycle(part: str, depth: int) -> None:
    found = cycles(collapse(module_graph(), part, depth))
    where = f"inside {part}" if part else "between packages"
    assert not found, f"import cycles {where}: " + "; ".join(" -> ".join(c) for c in found)
