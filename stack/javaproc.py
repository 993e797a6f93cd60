"""Child server processes (JVMs and our own Python services) that never outlive the process that started them."""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Self

from stack.errors import StackError

_PR_SET_PDEATHSIG = 1
_live: set[ChildProcess] = set()
_handlers_installed = False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the usual bind-to-0 race applies)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def java_executable() -> str:
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    if candidate is not None and candidate.exists():
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise StackError("java not found: install a Java 17+ runtime (Debian: openjdk-17-jre-headless)")
    return found


_libc = ctypes.CDLL(None, use_errno=True)  # resolved here: the child should only make the call


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if pytest or `make run` is SIGKILLed, atexit never
    # runs, and without this the child would keep the port and data dir locked for the next run.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ChildProcess:
    """One server process in its own process group, logging to a file, stopped by SIGTERM then SIGKILL."""

    def __init__(
        self, name: str, argv: Sequence[str], *, cwd: Path, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.log_path = log_path
        self.env = env
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def start(self, *, detached: bool = False) -> None:
        """Start the process; `detached` leaves it running after we exit (the CLI's --background)."""
        if self.running:
            raise StackError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # The kernel ties PDEATHSIG to the forking *thread*; from a short-lived thread the child would
        # die with it, so only the main thread asks for it (atexit still covers the rest).
        tie_to_parent = not detached and threading.current_thread() is threading.main_thread()
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - argv built from fixed parts, no shell
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # our own group: Ctrl-C goes to Python, which stops us cleanly
                preexec_fn=_die_with_parent if tie_to_parent else None,
            )
        if not detached:
            _live.add(self)
            _install_signal_handlers()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the group (Kafka then flushes and closes its logs), SIGKILL after `timeout`."""
        if self._proc is None:
            return None
        try:
            if self._proc.poll() is None:
                _signal_group(self._proc.pid, signal.SIGTERM)
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(self._proc.pid, signal.SIGKILL)
                    self._proc.wait(10)
            return self._proc.returncode
        finally:
            _live.discard(self)

    def kill(self) -> None:
        """SIGKILL with no shutdown at all: what a crash looks like to clients (chaos tests)."""
        if self._proc is not None and self._proc.poll() is None:
            _signal_group(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)
        _live.discard(self)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class JavaProcess(ChildProcess):
    """A JVM: the same lifecycle, with the java executable found once."""

    def __init__(self, name: str, argv: Sequence[str], *, cwd: Path, log_path: Path) -> None:
        super().__init__(name, [java_executable(), *argv], cwd=cwd, log_path=log_path)


class LocalServer:
    """What the local Kafka and registry share: subclasses start their JVM into `_process`."""

    _process: JavaProcess | None = None
    start_timeout: float = 90.0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    def start(self, timeout: float | None = None, *, detached: bool = False) -> Self:
        raise NotImplementedError

    def wait_ready(self, timeout: float) -> None:
        raise NotImplementedError

    def _launch(self, process: JavaProcess, timeout: float | None, detached: bool) -> Self:
        """Start `process` and wait until the server answers; a server that never does is stopped."""
        self._process = process
        process.start(detached=detached)
        try:
            self.wait_ready(timeout or self.start_timeout)
        except BaseException:
            process.stop(timeout=10)
            raise
        return self

    def stop(self, timeout: float = 30.0) -> None:
        if self._process is not None:
            self._process.stop(timeout)

    def kill(self) -> None:
        """Crash the server (SIGKILL); `start()` afterwards recovers the same data dir."""
        if self._process is not None:
            self._process.kill()

    def restart(self, timeout: float | None = None) -> Self:
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def stop_pid(pid: int, timeout: float = 30.0) -> bool:
    """Stop a detached server we are not the parent of (from its pid file); True if it was running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    _signal_group(pid, signal.SIGKILL)
    return True


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_all() -> None:
    for proc in list(_live):
        proc.stop(timeout=15.0)


atexit.register(stop_all)


def _install_signal_handlers() -> None:
    # SIGINT already becomes KeyboardInterrupt and so reaches atexit; SIGTERM and SIGHUP would end
    # Python without atexit, leaving children behind, so stop the children first, then chain.
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    _handlers_installed = True
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(sig)
        signal.signal(sig, _make_handler(sig, previous))


def _make_handler(sig: int, previous: object) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop_all()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise SystemExit(128 + sig)

    return handler
