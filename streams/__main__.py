"""`python -m streams`: one stream worker, as `faust -A streams.app worker` would start it."""
from __future__ import annotations

import faust

from streams.app import app, config


def main() -> None:
    worker = faust.Worker(app, loglevel=config.settings.log_level, quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
