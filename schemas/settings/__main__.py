"""`python -m schemas.settings --markdown`: print the settings reference (docs/settings.md) from the declarations."""
from __future__ import annotations

import argparse
import sys

from schemas.settings import LOCAL_ONLY, Settings
from schemas.settings.declare import markdown

PREFACE = """# Settings

<!-- Generated from the declarations in schemas/settings/ by `make settings-doc`
     (python -m schemas.settings --markdown > docs/settings.md); do not edit by hand. -->

Every setting is an environment variable, parsed once at each entry point into one typed, frozen
object (`schemas.settings.Settings`). A malformed value stops start-up with an error naming the
variable. The defaults suit `make run` and the tests; with `CARELAY_ENV=production` the development
keys, built-in or empty provider secrets and the demo API keys are refused (docs/security.md).
"""


def reference() -> str:
    return markdown(Settings, PREFACE, LOCAL_ONLY)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.settings", description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print docs/settings.md")
    args = parser.parse_args(argv)
    if not args.markdown:
        parser.print_usage()
        return 2
    sys.stdout.write(reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
