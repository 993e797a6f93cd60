"""Local time for care decisions: quiet hours in the patient's zone and dates as patients read them.

Time always comes in as epoch milliseconds; nothing here reads the clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MINUTES = 24 * 60

_MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "pt": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
           "novembro", "dezembro"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


def zone(name: str | None, fallback: str) -> ZoneInfo:
    """The patient's zone; an unknown or missing name falls back to the organization's."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the tree ("America")
                continue
    return ZoneInfo("UTC")


def local(ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz)


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


@dataclass(frozen=True)
class QuietHours:
    """Local minutes of the day [start, end); start > end wraps midnight (21:00-08:00). start == end: none."""

    start_min: int = 21 * 60
    end_min: int = 8 * 60

    def contains(self, ms: int, tz: ZoneInfo) -> bool:
        t = local(ms, tz)
        m = t.hour * 60 + t.minute
        if self.start_min == self.end_min:
            return False
        if self.start_min < self.end_min:
            return self.start_min <= m < self.end_min
        return m >= self.start_min or m < self.end_min

    def began_at(self, ms: int, tz: ZoneInfo) -> int:
        """When the quiet period containing `ms` began (call only when `contains`)."""
        t = local(ms, tz)
        m = t.hour * 60 + t.minute
        day = t.date() if m >= self.start_min else t.date() - timedelta(days=1)
        start = datetime(day.year, day.month, day.day, self.start_min // 60, self.start_min % 60, tzinfo=tz)
        return to_ms(start)

    def ends_at(self, ms: int, tz: ZoneInfo) -> int:
        """When the quiet period containing `ms` ends (call only when `contains`)."""
        t = local(ms, tz)
        m = t.hour * 60 + t.minute
        day = t.date() + timedelta(days=1) if self.start_min > self.end_min and m >= self.start_min else t.date()
        end = datetime(day.year, day.month, day.day, self.end_min // 60, self.end_min % 60, tzinfo=tz)
        return to_ms(end)


def format_date(ms: int, tz: ZoneInfo, language: str) -> str:
    """"1 de mayo" / "May 1" / "1 de maio": how a reminder names the day."""
    t = local(ms, tz)
    months = _MONTHS.get(language, _MONTHS["es"])
    if language == "en":
        return f"{months[t.month - 1]} {t.day}"
    return f"{t.day} de {months[t.month - 1]}"


def format_time(ms: int, tz: ZoneInfo, language: str) -> str:
    t = local(ms, tz)
    if language == "en":
        hour = t.hour % 12 or 12
        return f"{hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"
    return f"{t.hour:02d}:{t.minute:02d}"
