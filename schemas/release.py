"""`python -m schemas.release`: snapshot each event schema that changed since its last released version.

The snapshots in schemas/avro/released/ are what the compatibility test checks the current
contracts against, so a change that would break existing readers fails `make test`.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from schemas import contracts


def release() -> list[str]:
    written = []
    contracts.RELEASED_DIR.mkdir(exist_ok=True)
    for name in contracts.EVENT_TYPES:
        current = contracts.schema_text(name)
        versions = contracts.released_versions(name)
        if versions and json.loads(versions[-1].read_text()) == json.loads(current):
            continue
        path = contracts.RELEASED_DIR / f"{name}.v{len(versions) + 1}.avsc"
        path.write_text(json.dumps(json.loads(current), indent=1, sort_keys=True) + "\n")
        written.append(path.name)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m schemas.release",
        description="Release the current Avro contracts: write each contract that differs from its latest "
                    "released version to schemas/avro/released/<name>.v<N+1>.avsc and print its name.",
    ).parse_args(argv)
    for name in release():
        print(f"released {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
