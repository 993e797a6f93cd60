"""`evolve`: `dataclasses.replace` for the frozen state records, on the hot path.

`replace` rebuilds the record through its generated `__init__` (one `object.__setattr__` per field
of a frozen class) after walking `fields()`: about 5 µs for a `Message`, and a message's lifecycle
replaces one some thirty times. The records have no `__post_init__`, no `init=False` fields and no
slots, so a copy of the instance dict with the changes applied is the same value, in under 1 µs.
Field names are still checked, so a misspelt change fails as it would with `replace`; what mypy's
`replace` plugin checks (the values' types) is not, which is why only the hot paths use it.
"""
from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

_names: dict[type, frozenset[str]] = {}


def _fields_of(cls: type) -> frozenset[str]:
    names = _names.get(cls)
    if names is None:
        params = getattr(cls, "__dataclass_params__", None)
        if params is None or not params.frozen or hasattr(cls, "__slots__") or hasattr(cls, "__post_init__") \
                or any(not f.init for f in dataclasses.fields(cls)):
            raise TypeError(f"evolve: {cls.__name__} is not a plain frozen dataclass; use dataclasses.replace")
        names = _names[cls] = frozenset(f.name for f in dataclasses.fields(cls))
    return names


def evolve(obj: T, **changes: Any) -> T:
    """A copy of the frozen dataclass `obj` with `changes` applied (as `dataclasses.replace`)."""
    cls = type(obj)
    if not changes.keys() <= _fields_of(cls):
        unknown = sorted(changes.keys() - _fields_of(cls))
        raise TypeError(f"evolve: {cls.__name__} has no field {unknown[0]!r}")
    new = object.__new__(cls)
    state = new.__dict__
    state.update(obj.__dict__)
    state.update(changes)
    return new
