"""Fetching server jars from Maven Central into a per-user cache that lives outside the git tree."""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from stack.errors import FetchError

POM = Path(__file__).with_name("pom.xml")
# The sha256 of every artifact fetched: Maven itself only warns on a bad checksum, and a jar of the
# broker or the registry runs with the developer's rights, so nothing enters the cache unchecked.
PINS = Path(__file__).with_name("jars.sha256")
VERIFIED = ".sha256-verified"  # in a cache directory: the digest of the pins file it was checked against


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


def load_pins(path: Path | None = None) -> dict[str, str]:
    """`<sha256 hex>  <file name>` lines (sha256sum's format); `#` starts a comment."""
    path = path or PINS
    pins: dict[str, str] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name.strip():
            raise FetchError(f"{path}:{n}: expected '<sha256 hex>  <file name>'")
        pins[name.strip()] = digest
    return pins


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def check_pinned(files: Iterable[Path], pins: Mapping[str, str]) -> None:
    """Every file must be pinned by name and have exactly the pinned sha256; else one FetchError naming all."""
    problems = []
    for f in sorted(files, key=lambda p: p.name):
        want = pins.get(f.name)
        if want is None:
            problems.append(f"{f.name}: no pinned sha256")
            continue
        got = sha256_of(f)
        if got != want:
            problems.append(f"{f.name}: sha256 {got}, pinned {want}")
    if problems:
        raise FetchError(f"{len(problems)} fetched file(s) do not match the pins in {PINS.name} "
                         "(a tampered or changed artifact):\n  " + "\n  ".join(problems))


def _pins_digest() -> str:
    return sha256_of(PINS)


def is_verified(directory: Path) -> bool:
    """Checked against the current pins file (a pin change re-checks every cache once)."""
    try:
        return (directory / VERIFIED).read_text().strip() == _pins_digest()
    except OSError:
        return False


def _mark_verified(directory: Path) -> None:
    (directory / VERIFIED).write_text(_pins_digest() + "\n")


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]


def verify_cached(directory: Path) -> None:
    """Check a cache directory fetched before the pins (or under other pins) in place, read-only."""
    try:
        check_pinned(_files(directory), load_pins())
    except FetchError as exc:
        raise FetchError(f"{directory}: {exc}\nDelete {directory} and fetch again.") from None
    _mark_verified(directory)


def copy_dependencies(target: Path) -> None:
    """Resolve stack/pom.xml's runtime classpath into `target`, replacing it only when complete and pinned."""
    pins = load_pins()
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    mvn("-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={staging}", "-DincludeScope=runtime")
    try:
        check_pinned(_files(staging), pins)
    except FetchError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _mark_verified(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _copy_archive(coordinates: str, into: Path, pins: Mapping[str, str]) -> Path:
    mvn("-f", str(POM), "dependency:copy", f"-Dartifact={coordinates}", f"-DoutputDirectory={into}")
    archives = list(into.glob("*.tar.gz"))
    if len(archives) != 1:
        raise FetchError(f"expected one archive for {coordinates}, found {[a.name for a in archives]}")
    check_pinned(archives, pins)  # before a single member is unpacked
    return archives[0]


def unpack_artifact(coordinates: str, target: Path) -> None:
    """Download one tar.gz artifact (group:artifact:version:tar.gz:classifier) and unpack it to `target`."""
    pins = load_pins()
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        archive = _copy_archive(coordinates, staging, pins)
    except FetchError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    with tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    archive.unlink()  # Maven's local repository keeps its own copy
    _mark_verified(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def verify_unpacked(coordinates: str, target: Path) -> None:
    """Check an assembly unpacked before the pins in place, read-only: the pinned archive's members, byte
    for byte, are the files on disk."""
    with tempfile.TemporaryDirectory(prefix="carelay-verify-") as tmp:
        try:
            archive = _copy_archive(coordinates, Path(tmp), load_pins())
            with tarfile.open(archive) as tar:
                for member in tar:
                    source = tar.extractfile(member) if member.isfile() else None
                    if source is None:
                        continue
                    on_disk = target / member.name
                    digest = hashlib.sha256()
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                    want = digest.hexdigest()
                    if not on_disk.is_file() or sha256_of(on_disk) != want:
                        raise FetchError(f"{member.name} differs from the pinned {archive.name}")
        except FetchError as exc:
            raise FetchError(f"{target}: {exc}\nDelete {target} and fetch again.") from None
    _mark_verified(target)
