from streams.decide.ratelimit import Bucket, Limit, check, refill, wait_ms

HOUR = Limit.per_window(3, 3600)


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


def test_refill_is_linear_and_capped() -> None:
    b = refill(Bucket(0.0, 0), HOUR, 600_000)
    assert abs(b.tokens - 0.5) < 1e-9
    assert refill(Bucket(2.0, 0), HOUR, 10 * 3_600_000).tokens == 3.0
    assert wait_ms(Bucket(0.5, 600_000), HOUR) == 600_000


def test_a_short_limit_charges_none_of_the_others() -> None:
    limits = {"hour": HOUR, "org": Limit(1, 1)}
    d = check({"hour": None, "org": Bucket(0.0, 0)}, limits, 0)
    assert not d.allowed and d.limiter == "org" and d.due_ms == 1000
    assert d.buckets["hour"].tokens == 3.0


def test_due_time_is_the_latest_of_the_short_limits() -> None:
    limits = {"hour": HOUR, "org": Limit(1, 1)}
    d = check({"hour": Bucket(0.0, 0), "org": Bucket(0.0, 0)}, limits, 0)
    assert d.limiter == "hour" and d.due_ms == 1_200_000


def test_day_cap_applies_next_to_the_hour_cap() -> None:
    limits = {"hour": HOUR, "day": Limit.per_window(6, 86400)}
    buckets: dict[str, Bucket | None] = {"hour": None, "day": None}
    sent = 0
    now = 0
    while now < 3 * 3_600_000:
        d = check(buckets, limits, now)
        if d.allowed:
            sent += 1
        buckets = dict(d.buckets)
        now += 60_000
    assert sent == 6  # 3 at once, then the day bucket (6) runs dry before the hour bucket


def test_disabled_limit_is_ignored() -> None:
    assert check({"x": Bucket(0.0, 0)}, {"x": Limit(0, 0)}, 0).allowed


def test_partition_share_never_has_a_burst_below_one() -> None:
    share = Limit.share(1.0, 6)
    assert share.capacity == 1.0 and abs(share.per_s - 1 / 6) < 1e-9
    assert Limit.share(600.0, 6) == Limit(100.0, 100.0)
