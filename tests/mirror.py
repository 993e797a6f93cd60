"""Which source modules have a test module at the mirrored path: `python -m tests.mirror` lists those without.

A module `<package>/<path>/<name>.py` is mirrored by `tests/<package>/<path>/test_<name>.py`, or by the
pair the gateway keeps apart for one module, `test_<name>_pure.py` (no broker) and `test_<name>_kafka.py`.
`__init__.py` and `__main__.py` are left out; connectors/ and gateway/console/ are counted on their own.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("carelay", "streams", "schemas", "gateway", "analytics", "access", "process", "stack")
EXCLUDED = (("gateway", "console"),)
SPLIT = ("_pure", "_kafka")  # one module's tests kept apart: without a broker, and against one


def sources(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> list[Path]:
    """The source modules (relative to `root`) whose tests are expected to mirror them."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if rel.name in ("__init__.py", "__main__.py"):
                continue
            if any(rel.parts[:len(prefix)] == prefix for prefix in EXCLUDED):
                continue
            found.append(rel)
    return found


def mirrors(module: Path) -> tuple[Path, ...]:
    """The test modules any one of which mirrors `module`."""
    folder = Path("tests", *module.parts[:-1])
    return tuple(folder / f"test_{module.stem}{suffix}.py" for suffix in ("", *SPLIT))


def unmirrored(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> list[Path]:
    return [m for m in sources(root, packages) if not any((root / t).exists() for t in mirrors(m))]


def main(argv: list[str]) -> int:
    packages = argv or list(PACKAGES)
    total = sources(ROOT, packages)
    missing = unmirrored(ROOT, packages)
    for module in missing:
        print(module)
    print(f"{len(total) - len(missing)} of {len(total)} modules have a mirrored test module", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
