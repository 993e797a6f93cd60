"""docs/security.md's threat model points at tests that exist: every STRIDE row and HIPAA 164.312 row names
at least one test node (`tests/...py::test_name`), each defined in the tree, and the HIPAA table points
at the same tests as the threats."""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE = re.compile(r"`(tests/[\w/]+\.py(?:::[\w\[\]\-.]+)+)`")
BOUNDARIES = {"provider webhooks", "API keys", "console sessions", "Kafka", "ClickHouse", "AI agent"}
HIPAA = {"164.312(a)(1)", "164.312(a)(2)(i)", "164.312(a)(2)(iii)", "164.312(a)(2)(iv)", "164.312(b)",
         "164.312(c)(1)", "164.312(c)(2)", "164.312(d)", "164.312(e)(1)"}


def section() -> str:
    text = (ROOT / "docs" / "security.md").read_text()
    start = text.index("\n## Threat model\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end == -1 else text[start:end]


def rows(text: str, header: str) -> list[list[str]]:
    """The body rows of the markdown table whose header row starts with `| header |`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    body = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        body.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return body


def stride_rows() -> list[list[str]]:
    return rows(section(), "boundary")


def hipaa_rows() -> list[list[str]]:
    return rows(section(), "standard")


@cache
def defined(path: str) -> set[str]:
    """`name` and `Class::name` of every test function in one file."""
    tree = ast.parse((ROOT / path).read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}::{f.name}" for f in node.body
                      if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
    return names


def nodes(cell: str) -> list[str]:
    return NODE.findall(cell)


def every_node() -> list[str]:
    return sorted({n for row in stride_rows() + hipaa_rows() for n in nodes(row[-1])})


def test_every_threat_names_a_boundary_a_stride_letter_a_mechanism_and_a_test() -> None:
    found = stride_rows()
    assert len(found) >= 20
    for boundary, letter, threat, mechanism, tests in found:
        assert boundary in BOUNDARIES | {"all"}, boundary
        assert letter in set("STRIDE"), letter
        assert threat and mechanism, (boundary, threat)
        assert nodes(tests), f"{boundary} / {threat}: no test named"
    assert {row[0] for row in found} >= BOUNDARIES
    assert {row[1] for row in found} == set("STRIDE")


def test_the_hipaa_table_covers_the_safeguards_with_the_threat_models_tests() -> None:
    found = hipaa_rows()
    standards = {row[0].split(" ", 1)[0] for row in found}
    assert standards == HIPAA
    stride_tests = {n for row in stride_rows() for n in nodes(row[-1])}
    for row in found:
        named = nodes(row[-1])
        assert named, row[0]
        assert set(named) <= stride_tests, f"{row[0]}: {set(named) - stride_tests} is in no threat's row"


@pytest.mark.parametrize("node", every_node())
def test_each_named_test_exists(node: str) -> None:
    path, _, name = node.partition("::")
    assert (ROOT / path).is_file(), f"{path}: no such file"
    assert re.sub(r"\[.*\]$", "", name) in defined(path), f"{node}: no such test"
