"""The locked dependencies: requirements.lock (runtime) and requirements-dev.lock (runtime + the dev extra).

`make lock` writes both from pyproject.toml with hashes; `make venv` and the Dockerfile install them with
`--require-hashes`. This module holds the pure check that every pyproject dependency is pinned in the
lock at a version its specifier accepts (tests/stack/test_deps.py), and `python -m stack.deps audit`,
which `make audit` and `make test` run: pip-audit over the dev lock against PyPI's vulnerability data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def parse_lock(text: str) -> dict[str, str]:
    """Canonical package name -> pinned version, from a `name==version \\` lock file."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def unlocked(requirements: list[str], pins: dict[str, str]) -> list[str]:
    """The requirements the lock misses or pins at a version outside their specifier, as readable lines."""
    problems: list[str] = []
    for line in requirements:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"python_version": "3.11", "sys_platform": "linux"}):
            continue
        version = pins.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name}: not in the lock")
        elif req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}: locked {version}, pyproject.toml asks {req.specifier}")
    return problems


def project_requirements(root: Path = ROOT) -> tuple[list[str], list[str]]:
    """pyproject.toml's runtime dependencies and its dev extra."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]), list(project["optional-dependencies"]["dev"])


def audit(lock: Path, unreachable_ok: bool, extra: list[str] | None = None) -> int:
    """pip-audit over a hashed lock (no install: --disable-pip); 1 on a known vulnerability.

    When PyPI's vulnerability data cannot be had for some package, that is an error too unless
    `unreachable_ok` (AUDIT_UNREACHABLE=warn): then it is printed and the audit passes.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        cmd = [sys.executable, "-m", "pip_audit", "--disable-pip", "--require-hashes", "-r", str(lock),
               "--progress-spinner", "off", "--format", "json", "--output", str(out), *(extra or [])]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        report = json.loads(out.read_text()) if out.exists() else None
    if report is None:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return _unreachable(f"pip-audit could not reach the vulnerability service ({tail})", unreachable_ok)
    deps = report["dependencies"]
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"make audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})", file=sys.stderr)
    if vulnerable:
        print("make audit: raise the package's floor in pyproject.toml to a fixed version and run `make lock`;"
              " with no fix, add `--ignore-vuln ID` to AUDIT_IGNORE in the Makefile with the reason beside it",
              file=sys.stderr)
        return 1
    if skipped:
        return _unreachable(f"no vulnerability data for {len(skipped)} of {len(deps)} locked packages"
                            f" (e.g. {skipped[0]['skip_reason']})", unreachable_ok)
    print(f"make audit: {len(deps)} locked packages, no known vulnerabilities")
    return 0


def _unreachable(why: str, unreachable_ok: bool) -> int:
    if unreachable_ok:
        print(f"make audit: WARNING, not audited: {why}", file=sys.stderr)
        return 0
    print(f"make audit: {why}; PyPI's JSON API (https://pypi.org/pypi/NAME/VERSION/json) must be reachable."
          " AUDIT_UNREACHABLE=warn passes with a warning instead", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["-h"], ["--help"]) or args[:1] != ["audit"]:
        print("usage: python -m stack.deps audit [LOCK] [--ignore-vuln ID ...]\n\npip-audit over the lock (default"
              f" {DEV_LOCK}); AUDIT_UNREACHABLE=warn passes when the vulnerability data cannot be had")
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    rest = args[1:]
    lock = ROOT / DEV_LOCK
    if rest and not rest[0].startswith("-"):
        lock, rest = Path(rest[0]), rest[1:]
    return audit(lock, os.environ.get("AUDIT_UNREACHABLE", "") == "warn", rest)


if __name__ == "__main__":
    sys.exit(main())
