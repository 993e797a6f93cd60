"""Where the stack keeps its downloaded jars, and that each one matches its pinned sha256."""
from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from stack import kafka, maven, registry
from stack.errors import FetchError
from stack.maven import cache_root


def test_cache_root_defaults_outside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARELAY_STACK_CACHE", raising=False)
    assert cache_root() == Path.home() / ".cache" / "carelay"


def test_cache_root_and_homes_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CARELAY_STACK_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    assert kafka.kafka_home() == tmp_path / "kafka-3.9.1"
    assert registry.registry_home() == tmp_path / "apicurio-registry-3.0.9"


# -- sha256 pins (stack/jars.sha256): a fake `mvn` hands over the files, no network -------------------


GOOD = {"a-1.0.jar": b"jar a", "b-2.0.jar": b"jar b"}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


ARCHIVE = _tar({"app-runner.jar": b"runner", "lib/dep.jar": b"dep"})


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    pins = tmp_path / "jars.sha256"
    lines = [f"{_digest(data)}  {name}" for name, data in GOOD.items()]
    pins.write_text("# test pins\n" + "\n".join([*lines, f"{_digest(ARCHIVE)}  app-all.tar.gz"]) + "\n")
    monkeypatch.setattr(maven, "PINS", pins)
    return pins


def fake_mvn(monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []

    def mvn(*args: str, cwd: Path | None = None) -> None:
        calls.append(args)
        out = Path(next(a for a in args if a.startswith("-DoutputDirectory=")).partition("=")[2])
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out / name).write_bytes(data)

    monkeypatch.setattr(maven, "mvn", mvn)
    return calls


def test_the_pins_cover_the_versions_the_stack_runs() -> None:
    pins = maven.load_pins()
    assert f"kafka_2.13-{kafka.KAFKA_VERSION}.jar" in pins
    assert f"kafka-clients-{kafka.KAFKA_VERSION}.jar" in pins
    assert f"apicurio-registry-app-{registry.APICURIO_VERSION}-all.tar.gz" in pins
    assert {"slf4j-reload4j-1.7.36.jar", "reload4j-1.2.25.jar"} <= set(pins)  # stack/pom.xml's own


@pytest.mark.parametrize("line", [
    pytest.param("abc  a.jar", id="short-digest"),
    pytest.param("Z" * 64 + "  a.jar", id="not-hex"),
    pytest.param("a" * 64, id="no-name"),
])
def test_a_malformed_pins_file_is_refused(tmp_path: Path, line: str) -> None:
    path = tmp_path / "pins"
    path.write_text(line + "\n")
    with pytest.raises(FetchError, match="expected"):
        maven.load_pins(path)


@pytest.mark.parametrize(("files", "error"), [
    pytest.param(GOOD, None, id="all-pinned"),
    pytest.param({**GOOD, "b-2.0.jar": b"jar b, tampered"}, "b-2.0.jar: sha256", id="tampered-jar"),
    pytest.param({**GOOD, "c-3.0.jar": b"jar c"}, "c-3.0.jar: no pinned sha256", id="unpinned-jar"),
])
def test_the_classpath_enters_the_cache_only_when_pinned(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pinned: Path, files: dict[str, bytes], error: str | None
) -> None:
    fake_mvn(monkeypatch, files)
    lib = tmp_path / "kafka" / "lib"
    lib.mkdir(parents=True)
    (lib / "previous.jar").write_bytes(b"the cache before")
    if error is None:
        maven.copy_dependencies(lib)
        assert sorted(p.name for p in maven._files(lib)) == sorted(GOOD) and maven.is_verified(lib)
        return
    with pytest.raises(FetchError, match=error):
        maven.copy_dependencies(lib)
    assert [p.name for p in lib.iterdir()] == ["previous.jar"]  # the cache as it was
    assert not lib.with_name("lib.partial").exists()


@pytest.mark.parametrize(("archive", "error"), [
    pytest.param(ARCHIVE, None, id="pinned-archive"),
    pytest.param(_tar({"app-runner.jar": b"evil", "lib/dep.jar": b"dep"}), "app-all.tar.gz: sha256",
                 id="tampered-archive"),
])
def test_an_archive_is_unpacked_only_when_pinned(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pinned: Path, archive: bytes, error: str | None
) -> None:
    fake_mvn(monkeypatch, {"app-all.tar.gz": archive})
    home = tmp_path / "registry"
    if error is None:
        maven.unpack_artifact("g:app:1:tar.gz:all", home)
        assert (home / "lib" / "dep.jar").read_bytes() == b"dep" and maven.is_verified(home)
        assert not list(home.glob("*.tar.gz"))
        return
    with pytest.raises(FetchError, match=error):
        maven.unpack_artifact("g:app:1:tar.gz:all", home)
    assert not home.exists() and not home.with_name("registry.partial").exists()


@pytest.mark.parametrize(("jar", "error"), [
    pytest.param(b"jar b", None, id="cache-matches"),
    pytest.param(b"jar b, tampered", "Delete", id="cache-tampered"),
])
def test_a_cache_fetched_before_the_pins_is_checked_in_place_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pinned: Path, jar: bytes, error: str | None
) -> None:
    calls = fake_mvn(monkeypatch, {})
    lib = tmp_path / f"kafka-{kafka.KAFKA_VERSION}" / "lib"
    lib.mkdir(parents=True)
    kafka_jar = f"kafka_2.13-{kafka.KAFKA_VERSION}.jar"
    pinned.write_text(pinned.read_text() + f"{_digest(b'broker')}  {kafka_jar}\n")
    (lib / kafka_jar).write_bytes(b"broker")
    (lib / "a-1.0.jar").write_bytes(GOOD["a-1.0.jar"])
    (lib / "b-2.0.jar").write_bytes(jar)
    if error is None:
        assert kafka.fetch(lib.parent) == lib and maven.is_verified(lib)
        pinned.write_text(pinned.read_text() + "# a changed pins file checks the cache again\n")
        assert not maven.is_verified(lib)
    else:
        with pytest.raises(FetchError, match=error):
            kafka.fetch(lib.parent)
        assert not maven.is_verified(lib)
    assert calls == []  # checked where it lies, nothing fetched or replaced


@pytest.mark.parametrize(("on_disk", "error"), [
    pytest.param(b"runner", None, id="unpacked-matches"),
    pytest.param(b"evil", "app-runner.jar differs", id="unpacked-tampered"),
])
def test_an_assembly_unpacked_before_the_pins_is_checked_against_the_archive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pinned: Path, on_disk: bytes, error: str | None
) -> None:
    fake_mvn(monkeypatch, {"app-all.tar.gz": ARCHIVE})
    home = tmp_path / "registry"
    (home / "lib").mkdir(parents=True)
    (home / "app-runner.jar").write_bytes(on_disk)
    (home / "lib" / "dep.jar").write_bytes(b"dep")
    if error is None:
        maven.verify_unpacked("g:app:1:tar.gz:all", home)
        assert maven.is_verified(home)
        return
    with pytest.raises(FetchError, match=error):
        maven.verify_unpacked("g:app:1:tar.gz:all", home)
    assert not maven.is_verified(home)
