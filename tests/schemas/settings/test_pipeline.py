"""Analytics settings (part of the one Settings object): defaults, overrides, named errors."""
from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from schemas.settings import Settings


def test_defaults():
    cfg = _analytics({})
    assert (cfg.port, cfg.batch_rows, cfg.batch_interval_s, cfg.group_id) == (8200, 10_000, 5.0, "carelay.analytics")
    assert cfg.base_url == "http://127.0.0.1:8200" and cfg.sql_orgs == frozenset()


def test_the_group_follows_the_topic_prefix_unless_named():
    """Two deployments on one cluster, each with its own prefix, must not share the sink's group: its
    static member would take over the other's and read the wrong topics."""
    assert _analytics({"CARELAY_TOPIC_PREFIX": "clinic-b."}).group_id == "clinic-b.analytics"
    assert _analytics({"CARELAY_TOPIC_PREFIX": "clinic-b.", "CARELAY_ANALYTICS_GROUP_ID": "g"}).group_id == "g"


def test_overrides():
    cfg = _analytics({
        "CARELAY_ANALYTICS_PORT": "9300", "CARELAY_ANALYTICS_BATCH_ROWS": "500",
        "CARELAY_ANALYTICS_BATCH_INTERVAL_S": "0.2", "CARELAY_ANALYTICS_SQL_ORGS": "ops, clinic-1,",
        "CARELAY_ANALYTICS_URL": "http://analytics:9300/", "CARELAY_ANALYTICS_API_KEY": "sekrit-analyst-key",
    })
    assert (cfg.port, cfg.batch_rows, cfg.batch_interval_s) == (9300, 500, 0.2)
    assert cfg.sql_orgs == {"ops", "clinic-1"} and cfg.base_url == "http://analytics:9300"
    assert "sekrit" not in repr(cfg) and str(cfg.api_key) == "sekrit-analyst-key"


@pytest.mark.parametrize(("var", "value"), [("PORT", "x"), ("BATCH_ROWS", "0"), ("BATCH_INTERVAL_S", "-1")])
def test_malformed_values_name_the_variable(var: str, value: str):
    with pytest.raises(ConfigError, match=f"CARELAY_ANALYTICS_{var}"):
        _analytics({f"CARELAY_ANALYTICS_{var}": value})


def _analytics(environ):
    return Settings.from_env(environ).analytics
