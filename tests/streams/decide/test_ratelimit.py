"""Token-bucket math and the check across several limits, as tables of named cases."""
import pytest

from streams.decide.ratelimit import Bucket, Limit, check, refill, wait_ms

HOUR = Limit.per_window(3, 3600)
HOUR_MS = 3_600_000


@pytest.mark.parametrize(("limit", "capacity", "per_s", "enabled"), [
    pytest.param(Limit.per_window(3, 3600), 3, 3 / 3600, True, id="three-per-hour"),
    pytest.param(Limit.per_window(6, 86400), 6, 6 / 86400, True, id="six-per-day"),
    pytest.param(Limit.per_window(3, 0), 3, 0.0, False, id="zero-window-disables"),
    pytest.param(Limit.per_window(0, 3600), 0, 0.0, False, id="zero-count-disables"),
    pytest.param(Limit.share(1.0, 6), 1.0, 1 / 6, True, id="share-burst-never-below-one"),
    pytest.param(Limit.share(600.0, 6), 100.0, 100.0, True, id="share-splits-evenly"),
    pytest.param(Limit.share(10.0, 0), 10.0, 10.0, True, id="share-over-no-partitions-is-the-whole"),
    pytest.param(Limit.share(0.0, 6), 1.0, 0.0, False, id="share-of-nothing-disabled"),
    pytest.param(Limit(0, 0), 0, 0, False, id="zero-disables"),
    pytest.param(Limit(5, 0), 5, 0, False, id="no-refill-disables"),
])
def test_limit(limit: Limit, capacity: float, per_s: float, enabled: bool) -> None:
    assert (limit.capacity, limit.per_s, limit.enabled) == (capacity, pytest.approx(per_s), enabled)


@pytest.mark.parametrize(("bucket", "now", "tokens", "updated"), [
    pytest.param(None, 500, 3.0, 500, id="fresh-bucket-is-full"),
    pytest.param((0.0, 0), 600_000, 0.5, 600_000, id="refill-is-linear"),
    pytest.param((2.0, 0), 10 * HOUR_MS, 3.0, 10 * HOUR_MS, id="refill-is-capped"),
    pytest.param((1.0, 1000), 1000, 1.0, 1000, id="no-time-no-tokens"),
    pytest.param((1.0, 5000), 1000, 1.0, 5000, id="clock-behind-neither-adds-nor-rewinds"),
])
def test_refill(bucket: tuple[float, int] | None, now: int, tokens: float, updated: int) -> None:
    b = refill(Bucket(*bucket) if bucket else None, HOUR, now)
    assert (b.tokens, b.updated_ms) == (pytest.approx(tokens), updated)


@pytest.mark.parametrize(("tokens", "cost", "wait"), [
    pytest.param(0.5, 1.0, 600_000, id="half-a-token-short"),
    pytest.param(0.0, 1.0, 1_200_000, id="empty-waits-one-refill"),
    pytest.param(1.0, 1.0, 0, id="exactly-one-token"),
    pytest.param(1.0 - 1e-12, 1.0, 0, id="rounding-dust-is-a-token"),
    pytest.param(2.5, 1.0, 0, id="plenty"),
    pytest.param(1.0, 2.0, 1_200_000, id="cost-above-one"),
])
def test_wait_ms(tokens: float, cost: float, wait: int) -> None:
    assert wait_ms(Bucket(tokens, 0), HOUR, cost) == wait


ORG = Limit(1, 1)
DAY = Limit.per_window(6, 86400)
CHECKS = [
    # (buckets before: name -> (tokens, updated_ms) or None, limits, now) -> (allowed, due_ms, limiter, tokens after)
    pytest.param({"hour": None}, {"hour": HOUR}, 0, (True, None, None, {"hour": 2.0}), id="fresh-bucket-allows"),
    pytest.param({"hour": (0.0, 0)}, {"hour": HOUR}, 0, (False, 1_200_000, "hour", {"hour": 0.0}),
                 id="empty-bucket-one-token-every-20-minutes"),
    pytest.param({"hour": (0.0, 0)}, {"hour": HOUR}, 1_200_000, (True, None, None, {"hour": 0.0}),
                 id="refilled-token-is-spent"),
    pytest.param({"hour": None, "org": (0.0, 0)}, {"hour": HOUR, "org": ORG}, 0,
                 (False, 1000, "org", {"hour": 3.0, "org": 0.0}), id="short-limit-charges-none-of-the-others"),
    pytest.param({"hour": (0.0, 0), "org": (0.0, 0)}, {"hour": HOUR, "org": ORG}, 0,
                 (False, 1_200_000, "hour", {"hour": 0.0, "org": 0.0}), id="due-is-the-latest-of-the-short-limits"),
    pytest.param({"hour": None, "org": None}, {"hour": HOUR, "org": ORG}, 0,
                 (True, None, None, {"hour": 2.0, "org": 0.0}), id="every-limit-charged-one"),
    pytest.param({"x": (0.0, 0)}, {"x": Limit(0, 0)}, 0, (True, None, None, {}), id="disabled-limit-is-ignored"),
    pytest.param({}, {"hour": HOUR}, 0, (True, None, None, {"hour": 2.0}), id="bucket-never-seen-is-fresh"),
    pytest.param({"stale": (0.0, 0)}, {}, 0, (True, None, None, {}), id="no-limits-allows"),
]


@pytest.mark.parametrize(("buckets", "limits", "now", "expected"), CHECKS)
def test_check(buckets: dict[str, tuple[float, int] | None], limits: dict[str, Limit], now: int,
               expected: tuple[bool, int | None, str | None, dict[str, float]]) -> None:
    d = check({name: Bucket(*b) if b else None for name, b in buckets.items()}, limits, now)
    tokens = {name: b.tokens for name, b in d.buckets.items()}
    assert (d.allowed, d.due_ms, d.limiter, tokens) == (*expected[:3], pytest.approx(expected[3]))


def test_fresh_bucket_is_full_and_burst_is_capacity() -> None:
    buckets: dict[str, Bucket | None] = {"hour": None}
    for _ in range(3):
        d = check(buckets, {"hour": HOUR}, 0)
        assert d.allowed
        buckets = dict(d.buckets)
    d = check(buckets, {"hour": HOUR}, 0)
    assert not d.allowed
    assert d.limiter == "hour"
    assert d.due_ms == 1_200_000  # one token every 20 minutes


def test_day_cap_applies_next_to_the_hour_cap() -> None:
    limits = {"hour": HOUR, "day": DAY}
    buckets: dict[str, Bucket | None] = {"hour": None, "day": None}
    sent = 0
    now = 0
    while now < 3 * HOUR_MS:
        d = check(buckets, limits, now)
        if d.allowed:
            sent += 1
        buckets = dict(d.buckets)
        now += 60_000
    assert sent == 6  # 3 at once, then the day bucket (6) runs dry before the hour bucket
