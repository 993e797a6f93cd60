"""A single-node KRaft Kafka broker run from Maven Central jars, for tests and `make run`."""
from __future__ import annotations

import base64
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from stack.errors import StartupError
from stack.javaproc import JavaProcess, LocalServer, free_port, java_executable, port_open
from stack.maven import cache_root, copy_dependencies, fetch_lock, is_verified, verify_cached

KAFKA_VERSION = "3.9.1"  # 3.9 still accepts the old protocol versions some aiokafka releases send
LOG4J_CONFIG = Path(__file__).with_name("log4j.properties")

# librdkafka reports every refused connection while the broker boots; readiness is our decision.
_probe_log = logging.getLogger("stack.kafka.probe")
_probe_log.addHandler(logging.NullHandler())
_probe_log.propagate = False


def kafka_home() -> Path:
    return cache_root() / f"kafka-{KAFKA_VERSION}"


def fetch(home: Path | None = None) -> Path:
    """Download the broker classpath once; returns the lib directory."""
    home = home or kafka_home()
    lib = home / "lib"
    if (lib / f"kafka_2.13-{KAFKA_VERSION}.jar").exists() and is_verified(lib):
        return lib
    with fetch_lock(home.parent):
        if not (lib / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
            home.mkdir(parents=True, exist_ok=True)
            copy_dependencies(lib)  # checks every jar against stack/jars.sha256 before it enters the cache
        elif not is_verified(lib):
            verify_cached(lib)  # fetched before the pins: checked in place once
    return lib


def new_cluster_id() -> str:
    # Kafka's Uuid.toString: url-safe base64 without padding; a leading '-' would read as an option.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def server_properties(
    *, port: int, controller_port: int, log_dirs: Path, overrides: Mapping[str, str] | None = None
) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dirs),
        "num.partitions": "6",
        # Topics come from the topic catalog only; a typo must fail instead of creating a topic.
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        # The defaults (50 each) make the first consumer group or transaction wait for 50
        # partitions to be created on a 2-core machine; 6 behaves the same for one broker.
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.num.partitions": "6",
        # Tests start and stop consumer groups constantly; the 3 s default delay slows every one.
        "group.initial.rebalance.delay.ms": "0",
        **(overrides or {}),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _existing_controller_port(properties: Path) -> int | None:
    # A restart keeps the controller where the quorum state recorded it.
    try:
        for line in properties.read_text().splitlines():
            if line.startswith("controller.quorum.voters="):
                return int(line.rsplit(":", 1)[1])
    except (OSError, ValueError):
        return None
    return None


class LocalKafka(LocalServer):
    """Broker + controller in one JVM; `stop()` then `start()` reuses the data dir and its topics."""

    name = "kafka"

    def __init__(
        self,
        data_dir: Path | str,
        port: int = 9092,
        *,
        controller_port: int | None = None,
        home: Path | None = None,
        heap: str = "512m",
        overrides: Mapping[str, str] | None = None,
        storage_args: Sequence[str] = (),
        client: Mapping[str, str] | None = None,
    ) -> None:
        """`overrides` are extra server.properties: a restart after `kill()` waits out
        broker.session.timeout.ms (9 s) before the broker is fenced and may register again."""
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.properties = self.data_dir / "server.properties"
        self.controller_port = controller_port or _existing_controller_port(self.properties) or free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self.home = home or kafka_home()
        self.heap = heap
        self.overrides = dict(overrides or {})
        self.storage_args = tuple(storage_args)  # extra `kafka-storage format` arguments (SCRAM users)
        self.client = dict(client or {})  # how a client connects (a SASL_SSL listener: its credentials)
        self.log_dir = self.data_dir / "logs"
        self._process: JavaProcess | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return self.bootstrap

    def _java_args(self, lib: Path, main: str, *args: str) -> list[str]:
        return [
            f"-Xmx{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.log_dir}",
            f"-Dlog4j.configuration=file:{LOG4J_CONFIG}",
            "-cp",
            f"{lib}/*",
            main,
            *args,
        ]

    def _format_storage(self, lib: Path) -> None:
        kraft = self.data_dir / "kraft"
        if (kraft / "meta.properties").exists():
            return
        argv = [java_executable(), *self._java_args(
            lib, "kafka.tools.StorageTool", "format", "-t", new_cluster_id(), "-c", str(self.properties),
            *self.storage_args,
        )]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise StartupError(f"kafka storage format failed:\n{done.stdout}{done.stderr}")

    start_timeout = 90.0

    def start(self, timeout: float | None = None, *, detached: bool = False) -> Self:
        lib = fetch(self.home)
        if self.running:
            return self
        if port_open(self.port):
            raise StartupError(f"kafka: port {self.port} is already in use")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.properties.write_text(server_properties(
            port=self.port, controller_port=self.controller_port, log_dirs=self.data_dir / "kraft",
            overrides=self.overrides,
        ))
        self._format_storage(lib)
        process = JavaProcess(
            "kafka",
            self._java_args(lib, "kafka.Kafka", str(self.properties)),
            cwd=self.data_dir,
            log_path=self.log_dir / "kafka.out",
        )
        return self._launch(process, timeout, detached)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and not self._process.running:
                raise StartupError(f"kafka exited with {self._process.returncode}:\n{self._log_tail()}")
            if port_open(self.port) and self.is_ready():
                return
            time.sleep(0.25)
        raise StartupError(f"kafka not ready on {self.bootstrap} after {timeout:.0f}s:\n{self._log_tail()}")

    def is_ready(self, timeout: float = 3.0) -> bool:
        """Ready means a metadata request names a live broker, not merely that the port accepts."""
        # The stubs type config values as scalars, but librdkafka's `logger` takes a Logger.
        admin = AdminClient({"bootstrap.servers": self.bootstrap, **self.client,
                             "logger": _probe_log})  # type: ignore[dict-item]
        try:
            return len(admin.list_topics(timeout=timeout).brokers) > 0
        except KafkaException:
            return False

    def _log_tail(self) -> str:
        tails = []
        for path in (self.log_dir / "kafka.out", self.log_dir / "server.log"):
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-30:]
                tails.append(f"--- {path}\n" + "\n".join(lines))
        return "\n".join(tails) or "(no log output)"


if __name__ == "__main__":
    from stack.servercli import main

    sys.exit(main("kafka", sys.argv[1:], LocalKafka, fetch))
