"""The analytics process's own settings (CARELAY_ANALYTICS_*), parsed once at its entry points.

They belong in schemas/settings.py beside ClickHouseSettings; until they move there, `from_env`
follows the same rules: a malformed value fails at start-up with a ConfigError naming the variable.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.datastructures import Secret

from schemas.errors import ConfigError

_PREFIX = "CARELAY_ANALYTICS_"


@dataclass(frozen=True)
class AnalyticsSettings:
    host: str = "127.0.0.1"
    port: int = 8200
    url: str = ""  # where `carelay report` finds the owner process; empty: http://host:port
    api_key: Secret = field(default_factory=lambda: Secret(""))  # the key `carelay report` presents
    batch_rows: int = 10_000  # ClickHouse favours few large inserts: flush at this many rows...
    batch_interval_s: float = 1.0  # ...or when the oldest buffered row is this old
    query_timeout_s: int = 30  # max_execution_time of analysts' queries
    max_result_rows: int = 10_000  # max_result_rows of analysts' queries (result_overflow_mode=throw)
    retry_initial_s: float = 0.5  # backoff of a failed insert, doubling up to retry_max_s
    retry_max_s: float = 30.0
    group_id: str = "carelay-analytics"  # the one consumer group whose single member owns the store
    sql_orgs: frozenset[str] = frozenset()  # organizations whose analysts may run raw SQL (access.py)

    @property
    def base_url(self) -> str:
        return (self.url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AnalyticsSettings:
        env = os.environ if environ is None else environ
        d = cls()

        def raw(name: str, default: object) -> str:
            return env.get(_PREFIX + name, str(default))

        def num(name: str, default: float, kind: type[int] | type[float]) -> float:
            try:
                value = kind(raw(name, default))
            except ValueError as exc:
                raise ConfigError(f"{_PREFIX}{name}: not a valid {kind.__name__}") from exc
            if value <= 0:
                raise ConfigError(f"{_PREFIX}{name}: must be positive")
            return value

        return cls(
            host=raw("HOST", d.host),
            port=int(num("PORT", d.port, int)),
            url=raw("URL", d.url),
            api_key=Secret(raw("API_KEY", "")),
            batch_rows=int(num("BATCH_ROWS", d.batch_rows, int)),
            batch_interval_s=num("BATCH_INTERVAL_S", d.batch_interval_s, float),
            query_timeout_s=int(num("QUERY_TIMEOUT_S", d.query_timeout_s, int)),
            max_result_rows=int(num("MAX_RESULT_ROWS", d.max_result_rows, int)),
            retry_initial_s=num("RETRY_INITIAL_S", d.retry_initial_s, float),
            retry_max_s=num("RETRY_MAX_S", d.retry_max_s, float),
            group_id=raw("GROUP_ID", d.group_id),
            sql_orgs=frozenset(o.strip() for o in raw("SQL_ORGS", "").split(",") if o.strip()),
        )
