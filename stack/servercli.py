"""`python -m stack.kafka|stack.registry fetch|start|stop|status`: one CLI shape for both servers."""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from schemas.settings import Settings
from stack.errors import StackError
from stack.javaproc import pid_alive, stop_pid


class LocalServer(Protocol):
    name: str
    data_dir: Path
    port: int

    @property
    def endpoint(self) -> str: ...
    @property
    def pid(self) -> int | None: ...
    @property
    def running(self) -> bool: ...
    def start(self, timeout: float = ..., *, detached: bool = ...) -> LocalServer: ...
    def stop(self, timeout: float = ...) -> None: ...
    def is_ready(self, timeout: float = ...) -> bool: ...


def _default_port(kind: str, settings: Settings) -> int:
    if kind == "kafka":
        return int(settings.kafka.bootstrap.rsplit(":", 1)[1])
    return urlsplit(settings.kafka.schema_registry_url).port or 8081


def _pid_file(data_dir: Path, kind: str) -> Path:
    return data_dir / f"{kind}.pid"


def _read_pid_file(path: Path) -> dict[str, int] | None:
    try:
        record = json.loads(path.read_text())
        return {"pid": int(record["pid"]), "port": int(record["port"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main(kind: str, argv: list[str], make: Callable[[Path, int], LocalServer], fetch: Callable[[], Path]) -> int:
    """The CLI of one server: `make(data_dir, port)` builds it, `fetch()` downloads its pinned jars."""
    parser = argparse.ArgumentParser(prog=f"python -m stack.{kind}",
                                     description=f"Fetch (checksums pinned), start, stop or check the local {kind}.")
    parser.add_argument("command", choices=["fetch", "start", "stop", "status"])
    parser.add_argument("--data-dir", type=Path, default=None, help="default: CARELAY_DATA_DIR/" + kind)
    parser.add_argument("--port", type=int, default=None, help="default: from CARELAY_* settings")
    parser.add_argument("--background", action="store_true", help="start: detach and write a pid file")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)  # --help exits here, before the settings are read
    settings = Settings.from_env()
    data_dir: Path = (args.data_dir or settings.data_dir / kind).resolve()
    pid_file = _pid_file(data_dir, kind)
    record = _read_pid_file(pid_file)
    try:
        if args.command == "fetch":
            began = time.monotonic()
            print(f"{kind}: {fetch()} ({time.monotonic() - began:.1f}s)")
            return 0
        if args.command == "stop":
            stopped = record is not None and stop_pid(record["pid"], timeout=args.timeout)
            pid_file.unlink(missing_ok=True)
            print(f"{kind}: {'stopped' if stopped else 'was not running'}")
            return 0
        port = args.port or (record["port"] if record else _default_port(kind, settings))
        server = make(data_dir, port)
        if args.command == "status":
            # Only the server this data dir's pid file names counts: another one on the default
            # port (a second checkout's `make run`) must not read as ours.
            if record is None or not pid_alive(record["pid"]):
                print(f"{kind}: not running (no live pid file in {data_dir})")
                return 1
            ready = server.is_ready()
            print(f"{kind}: {'ready' if ready else 'not ready'} at {server.endpoint} (pid {record['pid']})")
            return 0 if ready else 1
        if record is not None and pid_alive(record["pid"]):
            print(f"{kind}: already running (pid {record['pid']}); `stop` it first", file=sys.stderr)
            return 1
        return _start(server, pid_file, background=args.background, timeout=args.timeout)
    except StackError as exc:
        print(f"{kind}: {exc}", file=sys.stderr)
        return 1


def _start(server: LocalServer, pid_file: Path, *, background: bool, timeout: float) -> int:
    began = time.monotonic()
    server.start(timeout, detached=background)
    pid_file.write_text(json.dumps({"pid": server.pid, "port": server.port}))
    print(f"{server.name}: ready at {server.endpoint} in {time.monotonic() - began:.1f}s "
          f"(pid {server.pid}, data {server.data_dir})", flush=True)
    if background:
        return 0
    try:
        while server.running:
            time.sleep(0.5)
        print(f"{server.name}: exited on its own; see {server.data_dir}/logs", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{server.name}: stopping", flush=True)
        server.stop()
        return 0
    finally:
        pid_file.unlink(missing_ok=True)
