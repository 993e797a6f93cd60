"""Apicurio Registry (Confluent-compatible API, in-memory storage) run from its Maven Central assembly."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Self

import httpx

from stack.errors import StartupError
from stack.javaproc import JavaProcess, LocalServer, port_open
from stack.maven import cache_root, fetch_lock, is_verified, unpack_artifact, verify_unpacked

# 3.0.x is the newest line whose classes still run on Java 17 (3.1+ needs Java 21).
APICURIO_VERSION = "3.0.9"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"
RUNNER_JAR = f"apicurio-registry-app-{APICURIO_VERSION}-runner.jar"
CCOMPAT_PATH = "/apis/ccompat/v7"


def registry_home() -> Path:
    return cache_root() / f"apicurio-registry-{APICURIO_VERSION}"


def fetch(home: Path | None = None) -> Path:
    """Download and unpack the Quarkus assembly once; returns the runner jar."""
    home = home or registry_home()
    jar = home / RUNNER_JAR
    if jar.exists() and is_verified(home):
        return jar
    with fetch_lock(home.parent):
        if not jar.exists():
            unpack_artifact(ARTIFACT, home)  # checks the archive against stack/jars.sha256 before unpacking
        elif not is_verified(home):
            verify_unpacked(ARTIFACT, home)  # unpacked before the pins: checked in place once
    if not jar.exists():
        raise StartupError(f"{ARTIFACT} unpacked without {RUNNER_JAR}; the assembly layout changed")
    return jar


class LocalRegistry(LocalServer):
    """One registry JVM. Schemas live in memory (a restart empties the registry) unless
    `kafka_bootstrap` is given: then in the kafkasql-journal topic, as docker-compose.yml runs it."""

    name = "registry"

    def __init__(self, data_dir: Path | str, port: int = 8081, *, home: Path | None = None,
                 heap: str = "256m", kafka_bootstrap: str | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.kafka_bootstrap = kafka_bootstrap
        self.port = port
        self.home = home or registry_home()
        self.heap = heap
        self.log_dir = self.data_dir / "logs"
        self._process: JavaProcess | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The Confluent-compatible endpoint: what CARELAY_SCHEMA_REGISTRY_URL should hold."""
        return self.base_url + CCOMPAT_PATH

    @property
    def endpoint(self) -> str:
        return self.url

    def _storage_args(self) -> list[str]:
        if self.kafka_bootstrap:
            return ["-Dapicurio.storage.kind=kafkasql", f"-Dapicurio.kafkasql.bootstrap.servers={self.kafka_bootstrap}"]
        # Named explicitly so a changed default cannot silently switch storage.
        return ["-Dapicurio.storage.kind=sql", "-Dapicurio.storage.sql.kind=h2"]

    def _java_args(self, jar: Path) -> list[str]:
        return [
            f"-Xmx{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            f"-Dquarkus.http.port={self.port}",
            "-Dquarkus.http.host=127.0.0.1",
            "-Dquarkus.log.level=WARN",
            '-Dquarkus.log.category."io.apicurio".level=WARN',
            "-Dquarkus.http.access-log.enabled=false",
            *self._storage_args(),
            # Confluent's API allows deleting subjects; tests clean up that way. 3.x forbids it by default.
            "-Dapicurio.rest.deletion.group.enabled=true",
            "-Dapicurio.rest.deletion.artifact.enabled=true",
            "-Dapicurio.rest.deletion.artifact-version.enabled=true",
            "-jar",
            str(jar),
        ]

    start_timeout = 120.0

    def start(self, timeout: float | None = None, *, detached: bool = False) -> Self:
        jar = fetch(self.home)
        if self.running:
            return self
        if port_open(self.port):
            raise StartupError(f"registry: port {self.port} is already in use")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        process = JavaProcess(
            "registry", self._java_args(jar), cwd=self.data_dir, log_path=self.log_dir / "registry.out"
        )
        return self._launch(process, timeout, detached)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and not self._process.running:
                raise StartupError(
                    f"registry exited with {self._process.returncode}:\n{self._process.log_tail()}"
                )
            if self.is_ready():
                return
            time.sleep(0.25)
        tail = self._process.log_tail() if self._process else ""
        raise StartupError(f"registry not ready at {self.url} after {timeout:.0f}s:\n{tail}")

    def is_ready(self, timeout: float = 3.0) -> bool:
        try:
            return httpx.get(f"{self.url}/subjects", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False


if __name__ == "__main__":
    from stack.servercli import main

    sys.exit(main("registry", sys.argv[1:], LocalRegistry, fetch))
