"""Providers' error rates on the operations page: which statuses count, the hour's window, the order."""
from __future__ import annotations

import pytest

from gateway.console.rates import MINUTE_MS, WINDOW_MS, Lag, Rate, lags, rates, verdict

NOW = 1_800_000_000_000
M = NOW // MINUTE_MS


@pytest.mark.parametrize(("status", "failed"), [
    pytest.param("delivered", 0, id="delivered-is-a-success"),
    pytest.param("failed", 1, id="failed"),
    pytest.param("undelivered", 1, id="undelivered"),
    pytest.param("read", None, id="read-no-verdict-delivered-counted"),
    pytest.param("sent", None, id="sent-no-verdict-yet"),
    pytest.param("blocked", None, id="blocked-is-not-the-providers"),
    pytest.param("expired", None, id="expired-is-not-the-providers"),
])
def test_verdict(status, failed):
    assert verdict(status) == failed


@pytest.mark.parametrize(("minutes", "expected"), [
    pytest.param({}, (), id="nothing"),
    pytest.param({("c", "SMS", "twilio"): {M: (3, 1)}}, (Rate("SMS", "twilio", 3, 1),), id="this-minute"),
    pytest.param({("c", "SMS", "twilio"): {M - 59: (1, 0), M - 61: (0, 5)}}, (Rate("SMS", "twilio", 1, 0),),
                 id="older-than-the-hour-left-out"),
    pytest.param({("other", "SMS", "twilio"): {M: (1, 1)}}, (), id="another-organizations"),
    pytest.param({("c", "SMS", "twilio"): {M: (9, 1)}, ("c", "WHATSAPP", "meta"): {M: (1, 1)}},
                 (Rate("WHATSAPP", "meta", 1, 1), Rate("SMS", "twilio", 9, 1)), id="worst-first"),
])
def test_rates(minutes, expected):
    assert rates(minutes, "c", NOW, WINDOW_MS) == expected


@pytest.mark.parametrize(("delivered", "failed", "percent"), [
    pytest.param(0, 0, 0.0, id="no-verdict-no-rate"),
    pytest.param(3, 1, 25.0, id="a-quarter"),
    pytest.param(0, 2, 100.0, id="all-failed"),
])
def test_percent(delivered, failed, percent):
    assert Rate("SMS", "twilio", delivered, failed).percent == percent


@pytest.mark.parametrize(("figures", "expected"), [
    pytest.param({}, (), id="no-figures"),
    pytest.param({("p.streams", "p.send.requests"): 4}, (Lag("streams", "send.requests", 4),), id="the-workers"),
    pytest.param({("p.analytics", "p.audit"): 1, ("p.streams", "p.webhooks.raw"): 9},
                 (Lag("streams", "webhooks.raw", 9), Lag("analytics", "audit", 1)), id="most-behind-first"),
    pytest.param({("someone", "p.audit"): 2}, (Lag("someone", "audit", 2),), id="an-unknown-group-by-its-id"),
])
def test_lags(figures, expected):
    assert lags(figures, {"p.streams": "streams", "p.analytics": "analytics"}, "p.") == expected
