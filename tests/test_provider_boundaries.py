"""Provider knowledge lives in its package, connectors/<provider>/, and nowhere else (docs/providers.md).

Read from the source with `ast`, so comments and docstrings may still name a provider. In the
production packages (NEUTRAL below), outside the provider packages:
1. no module imports a provider package, except the registry connectors/factory.py;
2. no module imports a provider's SDK (`twilio`);
3. no code spells a provider's name as a string (branching on a provider is asking its Capabilities
   instead), nor one of its facts: an error code of its table (codes of four or more characters;
   one- to three-digit Graph codes such as "4" are too common to police) or a signature header.
stack/ is not checked: the simulator and the benchmarks imitate the providers and import their
packages' public facts rather than restating them. Tests are not checked either.
"""
from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.factory import PROVIDERS

ROOT = Path(__file__).resolve().parent.parent
CONNECTORS = ROOT / "connectors"
NEUTRAL = ("connectors", "gateway", "streams", "analytics", "schemas", "access", "process", "agents")
REGISTRY = CONNECTORS / "factory.py"
SDKS = {"twilio": "twilio", "sns": "boto3"}  # provider package -> the vendor SDK only it may import
NAME = "a provider name"
# the same spelling meaning something else, by file
ELSEWHERE = {("gateway/fhir_parse.py", "meta"): "FHIR's Resource.meta element"}


def provider_packages() -> list[str]:
    return sorted(p.name for p in CONNECTORS.iterdir() if (p / "__init__.py").is_file())


def neutral_modules() -> Iterator[Path]:
    packages = {CONNECTORS / name for name in provider_packages()}
    for package in NEUTRAL:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else ():
            if not any(p in path.parents for p in packages):
                yield path


def facts() -> dict[str, str]:
    """Every provider's name (as spelled) and facts (lower case) -> the package that owns it."""
    found = {name: NAME for name in PROVIDERS}
    for package in provider_packages():
        for module, names in (("errors", ("ERROR_MAP",)), ("signature", ("HEADER", "SETTINGS_HEADER"))):
            try:
                mod = importlib.import_module(f"connectors.{package}.{module}")
            except ModuleNotFoundError:
                continue
            for name in names:
                value = getattr(mod, name, None)
                for fact in value if isinstance(value, dict) else (value,) if isinstance(value, str) else ():
                    if len(fact) >= 4:
                        found[fact.lower()] = f"connectors/{package}/{module}.py"
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def violations(source: str, where: str, owned: dict[str, str], packages: list[str], *,
               registry: bool = False) -> list[str]:
    tree = ast.parse(source)
    docs = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
            for name in _imported(node):
                top, _, rest = name.partition(".")
                if top in SDKS.values():
                    out.append(f"{where}:{node.lineno} imports the provider SDK {name}")
                if top == "connectors" and rest.split(".")[0] in packages and not registry:
                    out.append(f"{where}:{node.lineno} imports the provider package {name}")
        elif isinstance(node, ast.Constant) and id(node) not in docs and isinstance(node.value, str | int):
            text = str(node.value)
            if text not in owned and owned.get(text.lower(), NAME) != NAME:
                text = text.lower()  # facts in any case, names only as spelled
            if not isinstance(node.value, bool) and text in owned and not registry \
                    and (where, text) not in ELSEWHERE:
                out.append(f"{where}:{node.lineno} spells {node.value!r} ({owned[text]})")
    return out


def test_every_provider_name_has_a_package_and_facts_are_found() -> None:
    packages = provider_packages()
    assert {"twilio", "meta", "inapp"} <= set(packages)
    owned = facts()
    assert owned["21610"] == "connectors/twilio/errors.py" and owned["x-hub-signature-256"]


def test_no_provider_knowledge_outside_its_package() -> None:
    owned, packages = facts(), provider_packages()
    found = [v for path in neutral_modules()
             for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), owned, packages,
                                 registry=path == REGISTRY)]
    assert not found, "provider knowledge outside connectors/<provider>/:\n" + "\n".join(found)


@pytest.mark.parametrize(("source", "expected"), [
    ('import twilio.rest\n', "imports the provider SDK twilio.rest"),
    ('from connectors.twilio.errors import ERROR_MAP\n', "imports the provider package connectors.twilio.errors"),
    ('from connectors import meta\n', "imports the provider package connectors.meta"),
    ('if provider == "twilio":\n    pass\n', "spells 'twilio'"),
    ('OPT_OUT = frozenset({"21610"})\n', "spells '21610'"),
    ('CODE = 21610\n', "spells 21610"),
    ('H = "x-twilio-signature"\n', "spells 'x-twilio-signature'"),
    ('"""Twilio: 21610 is an opt-out, meta too."""\n', None),
    ('CODE = "4"\n', None),
], ids=["sdk", "package-module", "package", "name", "code", "int-code", "header", "docstring", "short-code"])
def test_the_rule_itself(source: str, expected: str | None) -> None:
    found = violations(source, "probe.py", facts(), provider_packages())
    assert (found[0].split(" ", 1)[1].split(" (")[0] if found else None) == expected
