"""How a setting is declared once: its variable, kind (parser and type), default, unit and description.

Each settings group is a frozen dataclass whose fields are `setting(...)`s; `parse_group` reads the
environment from those declarations and `markdown` renders docs/settings.md from the same ones.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from starlette.config import Config
from starlette.datastructures import Secret

from schemas.errors import ConfigError

SETTING = "carelay.setting"
T = TypeVar("T")


@dataclass(frozen=True)
class Kind:
    """A value's type as the table names it, and its parser `(variable, text) -> value`."""

    name: str
    parse: Callable[[str, str], Any]


@dataclass(frozen=True)
class Setting:
    var: str
    kind: Kind
    doc: str
    unit: str = ""
    shown_default: str | None = None  # the table's default column when the value is not the thing to show


def setting(var: str, default: Any, doc: str, *, kind: Kind | None = None, unit: str = "",
            shown: str | None = None) -> Any:
    """A dataclass field read from `var` (parsed by `kind`, text by default) and documented by `doc`."""
    meta = {SETTING: Setting(var, kind or TEXT, doc, unit, shown)}
    return dataclasses.field(default=default, metadata=meta)


def cast(var: str, text: str, to: Callable[[Any], T]) -> T:
    """Starlette's cast of one value; its error, prefixed with the variable, is the ConfigError."""
    try:
        return Config(environ={var: text})(var, cast=to)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{var}: {exc}") from exc


def integer(low: int = 0) -> Kind:
    def parse(var: str, text: str) -> int:
        value = cast(var, text, int)
        if value < 0:
            raise ConfigError(f"{var}: must not be negative")
        if value < low:
            raise ConfigError(f"{var}: must be at least {low}")
        return value

    return Kind(f"integer ≥ {low}", parse)


def _positive(var: str, text: str) -> float:
    value = cast(var, text, float)
    if not value > 0:  # NaN compares false both ways
        raise ConfigError(f"{var}: must be positive")
    if math.isinf(value):
        raise ConfigError(f"{var}: must be finite")
    return value


def _secret(blank_ok: bool) -> Callable[[str, str], Secret]:
    def parse(var: str, text: str) -> Secret:
        if not blank_ok and not text.strip():
            raise ConfigError(f"{var}: must not be empty (an empty key signs for anyone)")
        return Secret(text)

    return parse


def _names(var: str, text: str) -> frozenset[str]:
    return frozenset(o.strip() for o in text.split(",") if o.strip())


TEXT = Kind("text", lambda var, text: text)
URL = Kind("URL", lambda var, text: text.rstrip("/"))
PATH = Kind("path", lambda var, text: Path(text))
UPPER = Kind("text (upper-cased)", lambda var, text: text.upper())
POSITIVE = Kind("number > 0", _positive)
POSITIVE_COUNT = Kind("number > 0 (whole part used)", lambda var, text: int(_positive(var, text)))
FLAG = Kind("`true`/`false` (or `1`/`0`)", lambda var, text: cast(var, text, bool))
SECRET = Kind("secret, not empty", _secret(blank_ok=False))
OPTIONAL_SECRET = Kind("secret", _secret(blank_ok=True))
NAMES = Kind("comma-separated names", _names)


def declared(cls: type) -> Iterator[tuple[dataclasses.Field[Any], Setting]]:
    """The settings fields of one group, in declaration order."""
    for f in dataclasses.fields(cls):
        if SETTING in f.metadata:
            yield f, f.metadata[SETTING]


def subgroups(cls: type) -> Iterator[tuple[str, type]]:
    """The fields of `cls` that hold a whole settings group (a dataclass built by default_factory)."""
    for f in dataclasses.fields(cls):
        factory = f.default_factory
        if isinstance(factory, type) and dataclasses.is_dataclass(factory):
            yield f.name, factory


def parse_group(cls: type[T], environ: Mapping[str, str]) -> T:
    """`cls` from the variables present in `environ` (defaults for the others), its groups recursively."""
    values: dict[str, Any] = {name: parse_group(group, environ) for name, group in subgroups(cls)}
    for f, decl in declared(cls):
        if decl.var in environ:
            values[f.name] = decl.kind.parse(decl.var, environ[decl.var])
    return cls(**values)


def groups(cls: type) -> Iterator[type]:
    """`cls` and every group below it, depth first."""
    yield cls
    for _, group in subgroups(cls):
        yield from groups(group)


def variables(cls: type) -> list[str]:
    return [decl.var for group in groups(cls) for _, decl in declared(group)]


def _shown(f: dataclasses.Field[Any], decl: Setting) -> str:
    if decl.shown_default is not None:
        return decl.shown_default
    value = f.default
    if isinstance(value, Secret):
        return "empty" if not str(value) else "a development value"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value in ("", (), frozenset()):
        return "empty"
    return f"`{value}`"


def markdown(cls: type, preface: str, local_only: Mapping[str, str]) -> str:
    """The settings reference (docs/settings.md): one table per group, then the variables that are no settings."""
    out = [preface.rstrip(), ""]
    for group in groups(cls):
        rows = list(declared(group))
        if not rows:
            continue
        title = (group.__doc__ or group.__name__).strip().splitlines()[0].rstrip(".")
        out += [f"## {title}", "", "| variable | type | default | unit | meaning |", "|---|---|---|---|---|"]
        out += [f"| `{d.var}` | {d.kind.name} | {_shown(f, d)} | {d.unit} | {d.doc} |" for f, d in rows]
        out.append("")
    out += ["## Not settings: tests and the local stack only", "",
            "Read by the test suite, the browser tests or `make`, never by a running carelay process.", "",
            "| variable | meaning |", "|---|---|"]
    out += [f"| `{var}` | {doc} |" for var, doc in local_only.items()]
    return "\n".join(out) + "\n"
