"""Run the simulator on a free local port in a background thread (tests, and the local demo)."""
from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from stack.javaproc import free_port
from stack.simulator.app import create_app
from stack.simulator.state import SimulatorConfig

__all__ = ["SimulatorServer", "free_port"]  # free_port: the tests import it from here


class SimulatorServer:
    """`with SimulatorServer(config) as sim: sim.url` - uvicorn in a daemon thread, stopped on exit."""

    def __init__(self, config: SimulatorConfig | None = None, *, port: int | None = None) -> None:
        self.app = create_app(config)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # access_log off: request lines carry patient numbers in query strings
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                     access_log=False, lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, name="carelay-simulator", daemon=True)

    def start(self, timeout_s: float = 10.0) -> SimulatorServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
