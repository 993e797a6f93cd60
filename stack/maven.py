"""Fetching server jars from Maven Central into a per-user cache that lives outside the git tree."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stack.errors import FetchError

POM = Path(__file__).with_name("pom.xml")


def cache_root() -> Path:
    """CARELAY_STACK_CACHE, else ~/.cache/carelay: about 300 MB of jars, shared by every checkout."""
    configured = os.environ.get("CARELAY_STACK_CACHE", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "carelay"


@contextmanager
def fetch_lock(root: Path) -> Iterator[None]:
    # Two test sessions (or `make test` beside `make run`) may fetch at once; Maven's own local
    # repository is safe, but our copy-then-rename into the cache must happen once.
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".fetch.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def mvn(*args: str, cwd: Path | None = None) -> None:
    exe = shutil.which("mvn")
    if exe is None:
        raise FetchError("mvn not found on PATH: install Maven 3 (Debian: apt-get install maven)")
    proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [exe, "-q", "-B", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip().splitlines()
        raise FetchError(f"mvn {' '.join(args)} failed ({proc.returncode}):\n" + "\n".join(output[-30:]))


def copy_dependencies(target: Path) -> None:
    """Resolve stack/pom.xml's runtime classpath into `target`, replacing it only when complete."""
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    mvn("-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={staging}", "-DincludeScope=runtime")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def unpack_artifact(coordinates: str, target: Path) -> None:
    """Download one tar.gz artifact (group:artifact:version:tar.gz:classifier) and unpack it to `target`."""
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    mvn("-f", str(POM), "dependency:copy", f"-Dartifact={coordinates}", f"-DoutputDirectory={staging}")
    archives = list(staging.glob("*.tar.gz"))
    if len(archives) != 1:
        raise FetchError(f"expected one archive for {coordinates}, found {[a.name for a in archives]}")
    with tarfile.open(archives[0]) as archive:
        archive.extractall(staging, filter="data")
    archives[0].unlink()  # Maven's local repository keeps its own copy
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
