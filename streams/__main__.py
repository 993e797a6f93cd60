"""`python -m streams`: one stream worker, as `faust -A streams.app worker` would start it."""
from __future__ import annotations

import faust

from streams.app import app, config


def main() -> None:
    worker = faust.Worker(app, loglevel=config.settings.log_level, quiet=True)
    # Faust's terminal spinner, on at WARNING and above, sets the root logger to DEBUG so every
    # log call of every library (aiokafka, httpcore, mode) builds a record just to spin it
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
