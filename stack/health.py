"""`python -m stack.health`: the container healthcheck of carelay's services (the image has no curl).

`python -m stack.health http://127.0.0.1:8000/healthz` succeeds on a 2xx answer within the timeout;
`python -m stack.health --file /var/lib/carelay/reference-agent.alive --max-age 60` succeeds while a
process without an HTTP port (the reference agent) keeps touching its heartbeat file.
"""
from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

HEARTBEAT_EVERY_S = 5.0  # how often a process touches its heartbeat file; --max-age allows several misses


def fresh(mtime: float | None, now: float, max_age_s: float) -> bool:
    """A heartbeat written at `mtime` (None: never) still counts at `now`."""
    return mtime is not None and now - mtime <= max_age_s


def http_ok(url: str, timeout_s: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:  # noqa: S310 - a URL the compose file names
            return 200 <= int(answer.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def file_mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


class Heartbeat:
    """Touches `path` at most every HEARTBEAT_EVERY_S; a loop calls `beat()` on each turn."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._last = 0.0

    def beat(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.path is None or now - self._last < HEARTBEAT_EVERY_S:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self._last = now


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m stack.health", description=__doc__.splitlines()[0])
    p.add_argument("url", nargs="?", help="answers 2xx when healthy")
    p.add_argument("--file", type=Path, help="a heartbeat file instead of a URL")
    p.add_argument("--max-age", type=float, default=60.0, help="seconds a heartbeat stays fresh")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the URL")
    args = p.parse_args(argv)
    if (args.url is None) == (args.file is None):
        p.error("give a URL or --file, not both")
    if args.file is not None:
        return 0 if fresh(file_mtime(args.file), time.time(), args.max_age) else 1
    return 0 if http_ok(args.url, args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main())
