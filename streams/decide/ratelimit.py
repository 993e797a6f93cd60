"""Token buckets as pure math over (tokens, last refill) and a check across several limits at once.

A request passes only when every bucket that applies has a token; then each gives one. When one
is short, none is charged and the answer is the earliest time all of them will have refilled.
Global limits (per organization, per sender) are split evenly over the partitions: the recipient
key spreads load uniformly, so each partition enforcing rate/partitions keeps the total under rate.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    capacity: float  # burst size; 0 disables the limit
    per_s: float     # refill rate, tokens per second

    @classmethod
    def per_window(cls, count: float, window_s: float) -> Limit:
        """`count` per `window_s` with a burst of `count` (3 per hour: 3 at once, then one each 20 min)."""
        return cls(count, count / window_s if window_s > 0 else 0.0)

    @classmethod
    def share(cls, per_s: float, shares: int) -> Limit:
        """One partition's share of a global per-second rate; the burst never drops below one."""
        rate = per_s / max(1, shares)
        return cls(max(1.0, rate), rate)

    @property
    def enabled(self) -> bool:
        return self.capacity > 0 and self.per_s > 0


@dataclass(frozen=True)
class Bucket:
    tokens: float
    updated_ms: int


def refill(bucket: Bucket | None, limit: Limit, now_ms: int) -> Bucket:
    if bucket is None:
        return Bucket(limit.capacity, now_ms)
    elapsed_s = max(0, now_ms - bucket.updated_ms) / 1000
    return Bucket(min(limit.capacity, bucket.tokens + elapsed_s * limit.per_s), max(now_ms, bucket.updated_ms))


def wait_ms(bucket: Bucket, limit: Limit, cost: float = 1.0) -> int:
    """How long after bucket.updated_ms until `cost` tokens are there (0: now)."""
    missing = cost - bucket.tokens
    if missing <= 1e-9:
        return 0
    return math.ceil(missing / limit.per_s * 1000)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    buckets: Mapping[str, Bucket]  # refilled, and charged when allowed
    due_ms: int | None = None       # when not allowed: retry at this time
    limiter: str | None = None      # which limit was short (metrics label)


def check(buckets: Mapping[str, Bucket | None], limits: Mapping[str, Limit], now_ms: int) -> RateDecision:
    """Check every enabled limit named in `limits`; `buckets` holds their current state (None: fresh)."""
    refilled = {name: refill(buckets.get(name), limit, now_ms) for name, limit in limits.items() if limit.enabled}
    waits = {name: wait_ms(b, limits[name]) for name, b in refilled.items()}
    short = {name: w for name, w in waits.items() if w > 0}
    if short:
        limiter = max(short, key=lambda n: short[n])
        return RateDecision(False, refilled, now_ms + short[limiter], limiter)
    charged = {name: Bucket(b.tokens - 1.0, b.updated_ms) for name, b in refilled.items()}
    return RateDecision(True, charged)
