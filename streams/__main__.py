"""`python -m streams [worker]`: one stream worker, as `faust -A streams.app worker` would start it."""
from __future__ import annotations

import argparse
from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m streams",
        description="Run one stream worker: it joins the streams consumer group (CARELAY_STREAMS_APP_ID) on "
                    "CARELAY_KAFKA_BOOTSTRAP and processes its share of the partitions until SIGTERM/SIGINT. "
                    "Settings from CARELAY_* variables (README: Settings).")
    p.add_argument("command", nargs="?", choices=["worker"], default="worker", help="the only command (default)")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    parser().parse_args(argv)  # --help exits here, before the app (and its settings) is imported
    import faust

    from streams.app import app, config

    worker = faust.Worker(app, loglevel=config.settings.log_level, quiet=True)
    # Faust's terminal spinner, on at WARNING and above, sets the root logger to DEBUG so every
    # log call of every library (aiokafka, httpcore, mode) builds a record just to spin it
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
