"""Local time for care decisions as tables: zones, quiet hours, and dates as patients read them."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.care.clock import QuietHours, format_date, format_time, local, to_ms, zone

MEXICO = ZoneInfo("America/Mexico_City")  # UTC-6, no daylight saving since 2022
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours(21 * 60, 8 * 60)       # wraps midnight
SIESTA = QuietHours(14 * 60, 16 * 60 + 30)  # within one day
NONE = QuietHours(0, 0)


def at(tz: ZoneInfo, y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return to_ms(datetime(y, mo, d, h, mi, tzinfo=tz))


@pytest.mark.parametrize(("name", "fallback", "expected"), [
    pytest.param("America/Bogota", "America/Mexico_City", "America/Bogota", id="patient-zone"),
    pytest.param(None, "America/Mexico_City", "America/Mexico_City", id="no-patient-zone-organization-zone"),
    pytest.param("", "America/Mexico_City", "America/Mexico_City", id="empty-patient-zone"),
    pytest.param("Mars/Olympus", "America/Mexico_City", "America/Mexico_City", id="unknown-zone"),
    pytest.param("../etc/passwd", "America/Mexico_City", "America/Mexico_City", id="path-outside-the-zone-tree"),
    pytest.param("zone.tab", "America/Mexico_City", "America/Mexico_City", id="file-that-is-no-zone"),
    pytest.param("America", "America/Mexico_City", "America/Mexico_City", id="folder-of-the-zone-tree"),
    pytest.param("Mars/Olympus", "", "UTC", id="nothing-usable-is-utc"),
    pytest.param(None, "Europe", "UTC", id="organization-zone-a-folder-is-utc"),
])
def test_zone(name: str | None, fallback: str, expected: str) -> None:
    assert zone(name, fallback).key == expected


QUIET = [
    # (quiet hours, zone, local time y-m-d h:m) -> (contains, began at local, ends at local)
    pytest.param(NIGHT, MEXICO, (2026, 3, 10, 22, 30), (True, (2026, 3, 10, 21, 0), (2026, 3, 11, 8, 0)),
                 id="night-before-midnight"),
    pytest.param(NIGHT, MEXICO, (2026, 3, 11, 6, 15), (True, (2026, 3, 10, 21, 0), (2026, 3, 11, 8, 0)),
                 id="night-after-midnight"),
    pytest.param(NIGHT, MEXICO, (2026, 3, 10, 21, 0), (True, (2026, 3, 10, 21, 0), (2026, 3, 11, 8, 0)),
                 id="night-starts-at-its-first-minute"),
    pytest.param(NIGHT, MEXICO, (2026, 3, 11, 7, 59), (True, (2026, 3, 10, 21, 0), (2026, 3, 11, 8, 0)),
                 id="night-last-minute"),
    pytest.param(NIGHT, MEXICO, (2026, 3, 11, 8, 0), (False, None, None), id="night-over-at-its-end"),
    pytest.param(NIGHT, MEXICO, (2026, 3, 11, 12, 0), (False, None, None), id="midday"),
    pytest.param(NIGHT, MEXICO, (2026, 3, 10, 20, 59), (False, None, None), id="minute-before-night"),
    pytest.param(NIGHT, MEXICO, (2026, 12, 31, 23, 0), (True, (2026, 12, 31, 21, 0), (2027, 1, 1, 8, 0)),
                 id="night-across-the-year"),
    pytest.param(NIGHT, NEW_YORK, (2026, 3, 7, 23, 0), (True, (2026, 3, 7, 21, 0), (2026, 3, 8, 8, 0)),
                 id="night-of-the-spring-clock-change"),
    pytest.param(NIGHT, NEW_YORK, (2026, 10, 31, 23, 0), (True, (2026, 10, 31, 21, 0), (2026, 11, 1, 8, 0)),
                 id="night-of-the-autumn-clock-change"),
    pytest.param(SIESTA, MEXICO, (2026, 3, 10, 15, 0), (True, (2026, 3, 10, 14, 0), (2026, 3, 10, 16, 30)),
                 id="within-one-day"),
    pytest.param(SIESTA, MEXICO, (2026, 3, 10, 16, 30), (False, None, None), id="within-one-day-over"),
    pytest.param(SIESTA, MEXICO, (2026, 3, 10, 13, 59), (False, None, None), id="within-one-day-not-yet"),
    pytest.param(NONE, MEXICO, (2026, 3, 10, 0, 0), (False, None, None), id="equal-start-and-end-means-none"),
]


@pytest.mark.parametrize(("quiet", "tz", "when", "expected"), QUIET)
def test_quiet_hours(quiet: QuietHours, tz: ZoneInfo, when: tuple[int, int, int, int, int],
                     expected: tuple[bool, tuple[int, ...] | None, tuple[int, ...] | None]) -> None:
    ms = at(tz, *when)
    contains, began, ends = expected
    assert quiet.contains(ms, tz) is contains
    if contains:
        assert began is not None and ends is not None
        assert (quiet.began_at(ms, tz), quiet.ends_at(ms, tz)) == (at(tz, *began), at(tz, *ends))


def test_the_spring_night_is_an_hour_shorter() -> None:
    ms = at(NEW_YORK, 2026, 3, 7, 23)
    assert NIGHT.ends_at(ms, NEW_YORK) - NIGHT.began_at(ms, NEW_YORK) == 10 * 3_600_000


@pytest.mark.parametrize(("when", "language", "date", "time"), [
    pytest.param((2026, 5, 1, 9, 5), "es", "1 de mayo", "09:05", id="spanish"),
    pytest.param((2026, 3, 14, 17, 30), "pt", "14 de março", "17:30", id="portuguese"),
    pytest.param((2026, 5, 1, 9, 5), "en", "May 1", "9:05 AM", id="english-morning"),
    pytest.param((2026, 12, 25, 0, 15), "en", "December 25", "12:15 AM", id="english-after-midnight"),
    pytest.param((2026, 1, 2, 12, 0), "en", "January 2", "12:00 PM", id="english-noon"),
    pytest.param((2026, 1, 2, 23, 59), "en", "January 2", "11:59 PM", id="english-night"),
    pytest.param((2026, 9, 30, 18, 0), "fr", "30 de septiembre", "18:00", id="unknown-language-spanish"),
])
def test_dates_as_patients_read_them(when: tuple[int, int, int, int, int], language: str, date: str,
                                     time: str) -> None:
    ms = at(MEXICO, *when)
    assert (format_date(ms, MEXICO, language), format_time(ms, MEXICO, language)) == (date, time)


def test_local_and_back() -> None:
    ms = at(MEXICO, 2026, 3, 10, 22, 30)
    assert ms == 1_773_203_400_000  # 2026-03-11T04:30Z
    assert local(ms, MEXICO).isoformat() == "2026-03-10T22:30:00-06:00"
    assert to_ms(local(ms, NEW_YORK)) == ms
