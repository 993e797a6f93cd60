from pathlib import Path

import pytest

from tests.mirror import mirrors, sources, unmirrored


@pytest.mark.parametrize(("module", "tests"), [
    pytest.param("streams/decide/routing.py", ("tests/streams/decide/test_routing.py",
                                               "tests/streams/decide/test_routing_pure.py",
                                               "tests/streams/decide/test_routing_kafka.py"), id="nested-package"),
    pytest.param("gateway/body.py", ("tests/gateway/test_body.py", "tests/gateway/test_body_pure.py",
                                     "tests/gateway/test_body_kafka.py"), id="top-level-package"),
])
def test_mirrors(module: str, tests: tuple[str, ...]) -> None:
    assert mirrors(Path(module)) == tuple(Path(t) for t in tests)


def test_unmirrored_over_a_small_tree(tmp_path: Path) -> None:
    for name in ("pkg/__init__.py", "pkg/__main__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py", "pkg/sub/d.py",
                 "gateway/console/page.py", "gateway/e.py",
                 "tests/pkg/test_a.py", "tests/pkg/test_b_kafka.py", "tests/pkg/test_d.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert sources(tmp_path, ("pkg", "gateway")) == [Path(p) for p in ("pkg/a.py", "pkg/b.py", "pkg/c.py",
                                                                        "pkg/sub/d.py", "gateway/e.py")]
    # test_d.py sits one folder up from pkg/sub/d.py: not a mirror
    assert unmirrored(tmp_path, ("pkg", "gateway")) == [Path("pkg/c.py"), Path("pkg/sub/d.py"), Path("gateway/e.py")]
