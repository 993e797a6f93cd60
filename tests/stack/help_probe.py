"""Run one entry point under guard: any socket, process, thread or Kafka client it opens ends it with 97.

`python tests/stack/help_probe.py <module | module:function> [args...]`: what `--help` must never do,
made loud. Kafka clients are native (librdkafka connects from its own threads), so they are refused
at construction.
"""
from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import threading
import traceback
from typing import Any

REFUSED = 97


def _refuse(what: str) -> Any:
    def refused(*args: object, **kwargs: object) -> None:
        sys.stderr.write(f"help_probe: refused {what}\n{''.join(traceback.format_stack()[-8:])}")
        sys.stderr.flush()
        os._exit(REFUSED)

    return refused


def guard() -> None:
    for name in ("connect", "connect_ex", "listen"):
        setattr(socket.socket, name, _refuse(f"socket.{name}"))
    bind, refused_bind = socket.socket.bind, _refuse("socket.bind")

    def bind_port_zero_only(sock: socket.socket, address: Any) -> None:
        # urllib3 binds ("::1", 0) at import to learn whether IPv6 works; a server names its port (or listens)
        if isinstance(address, tuple) and address[1] == 0:
            return bind(sock, address)
        refused_bind(sock, address)

    socket.socket.bind = bind_port_zero_only  # type: ignore[method-assign]
    subprocess.Popen.__init__ = _refuse("a subprocess")  # type: ignore[method-assign]
    os.fork = _refuse("a fork")
    threading.Thread.start = _refuse("a thread")  # type: ignore[method-assign]
    import confluent_kafka
    import confluent_kafka.admin

    for module in (confluent_kafka, confluent_kafka.admin):
        for name in ("Producer", "Consumer", "AdminClient"):
            if hasattr(module, name):
                setattr(module, name, _refuse(f"a Kafka {name}"))


def main() -> None:
    target, args = sys.argv[1], sys.argv[2:]
    guard()
    module, _, function = target.partition(":")
    if function:
        import importlib

        sys.argv = [module, *args]
        result = getattr(importlib.import_module(module), function)()
        raise SystemExit(result)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
