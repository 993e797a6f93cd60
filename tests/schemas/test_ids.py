import uuid

import pytest

from schemas.ids import uuid4_str, uuid5_str

NAMESPACES = [uuid.NAMESPACE_DNS, uuid.UUID("6f1c3c1e-5b0e-4c55-9b7e-8c2a9d1f0a11"), uuid.UUID(int=0)]
NAMES = ["", "demo-clinic\nabc-123", "é ñ 漢字 🙂", "x" * 1000, "org|key/7"]


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("name", NAMES)
def test_uuid5_str_is_the_standard_librarys(namespace: uuid.UUID, name: str) -> None:
    assert uuid5_str(namespace, name) == str(uuid.uuid5(namespace, name))


def test_uuid5_str_over_many_names() -> None:
    for n in range(2000):
        assert uuid5_str(uuid.NAMESPACE_URL, f"name-{n}") == str(uuid.uuid5(uuid.NAMESPACE_URL, f"name-{n}"))


def test_uuid4_str_is_a_random_version_4_uuid() -> None:
    ids = {uuid4_str() for _ in range(2000)}
    assert len(ids) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
