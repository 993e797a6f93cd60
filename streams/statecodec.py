"""State records <-> JSON for table changelogs: orjson writes frozen dataclasses natively; reading
rebuilds them from their type hints (compiled once per class). Unknown keys are dropped and missing
keys take the field's default, so a record written by the previous release still reads.
"""
from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

import orjson

from streams.faust_adapter import register_codec

Build = Callable[[Any], Any]


def dumps(record: Any) -> bytes:
    return orjson.dumps(record)


def loads(cls: type, data: bytes) -> Any:
    return _builder(cls)(orjson.loads(data))


def _identity(value: Any) -> Any:
    return value


@cache
def _builder(tp: Any) -> Build:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_builder(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        build = _builder(inner[0]) if len(inner) == 1 else _identity
        return lambda v: None if v is None else build(v)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _builder(args[0])
            if item is _identity:
                return tuple
            return lambda v: tuple(item(x) for x in v)
        parts = [_builder(a) for a in args]
        return lambda v: tuple(b(x) for b, x in zip(parts, v, strict=True))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    return _identity


def _dataclass_builder(cls: type) -> Build:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _builder(hints[f.name]) for f in dataclasses.fields(cls) if f.init}

    def build(value: dict[str, Any]) -> Any:
        return cls(**{k: fields[k](v) for k, v in value.items() if k in fields})

    return build


def register(name: str, cls: type) -> str:
    """A Faust serializer named `name` for one record class, so tables hold frozen dataclasses, not bytes."""
    build = _builder(cls)
    return register_codec(name, dumps, lambda data: build(orjson.loads(data)))
