"""Care workflow settings (streams/care): time zones, quiet hours, reminders, the AI bridge."""
from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.errors import ConfigError
from schemas.settings.declare import POSITIVE, Kind, integer, setting

_HHMM_RANGE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


def parse_quiet_hours(var: str, text: str) -> tuple[int, int]:
    """`21:00-08:00` -> (1260, 480): local minutes of the day, start inclusive, end exclusive; may wrap."""
    m = _HHMM_RANGE.match(text.strip())
    if not m:
        raise ConfigError(f"{var}: quiet hours must be HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    return h1 * 60 + m1, h2 * 60 + m2


def check_timezone(var: str, name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a folder of the zone tree
        raise ConfigError(f"{var}: not an IANA time zone") from exc
    return name


@dataclass(frozen=True)
class OrgCare:
    """One organization's own timezone and quiet hours (CARELAY_CARE_ORGS)."""

    organization_id: str
    timezone: str
    quiet_hours: tuple[int, int]


def parse_care_orgs(var: str, text: str) -> tuple[OrgCare, ...]:
    """`org=Zone/Name@21:00-08:00;org2=...`."""
    out: list[OrgCare] = []
    for item in (p.strip() for p in text.split(";")):
        if not item:
            continue
        org, sep, rest = item.partition("=")
        zone, at, hours = rest.partition("@")
        if not sep or not at or not org.strip():
            raise ConfigError(f"{var}: each entry must be organization=Zone/Name@HH:MM-HH:MM")
        out.append(OrgCare(org.strip(), check_timezone(var, zone.strip()), parse_quiet_hours(var, hours)))
    return tuple(out)


def parse_offsets(var: str, text: str) -> tuple[int, ...]:
    """`86400,7200` -> (86400, 7200): distinct, newest-last order (largest first), all positive."""
    try:
        offsets = tuple(sorted({int(o) for o in text.split(",") if o.strip()}, reverse=True))
    except ValueError:
        raise ConfigError(f"{var}: comma-separated seconds") from None
    if any(o <= 0 for o in offsets):
        raise ConfigError(f"{var}: offsets must be positive")
    return offsets


ZONE = Kind("IANA time zone", check_timezone)
HOURS = Kind("`HH:MM-HH:MM`", parse_quiet_hours)
ORGS = Kind("`org=Zone/Name@HH:MM-HH:MM;…`", parse_care_orgs)
OFFSETS = Kind("comma-separated seconds > 0", parse_offsets)


@dataclass(frozen=True)
class CareSettings:
    """Care workflows (streams/care): reminders, quiet hours, the AI bridge, the urgent lane."""

    default_timezone: str = setting(
        "CARELAY_CARE_TIMEZONE", "America/Mexico_City", "IANA zone of patients whose appointment names none",
        kind=ZONE)
    quiet_hours: tuple[int, int] = setting(
        "CARELAY_CARE_QUIET_HOURS", (21 * 60, 8 * 60),
        "local hours without non-urgent messages: every non-urgent send waits until they end, reminders "
        "move earlier", kind=HOURS, unit="local time", shown="`21:00-08:00`")
    orgs: tuple[OrgCare, ...] = setting(
        "CARELAY_CARE_ORGS", (), "per-organization overrides of the time zone and quiet hours", kind=ORGS)
    reminder_offsets_s: tuple[int, ...] = setting(
        "CARELAY_CARE_REMINDER_OFFSETS_S", (24 * 3600, 2 * 3600), "reminders this long before an appointment",
        kind=OFFSETS, unit="s", shown="`86400,7200`")
    ai_reply_timeout_s: float = setting(
        "CARELAY_CARE_AI_REPLY_TIMEOUT_S", 3.0, "no AI reply by then: holding message and a staff flag",
        kind=POSITIVE, unit="s")
    urgent_voice_after_unread_s: int = setting(
        "CARELAY_CARE_URGENT_VOICE_AFTER_S", 600, "an urgent notice delivered but not read by then is "
        "escalated to a voice call", kind=integer(), unit="s")

    def for_org(self, organization_id: str) -> tuple[str, tuple[int, int]]:
        """(timezone, quiet hours) of the organization."""
        own = next((o for o in self.orgs if o.organization_id == organization_id), None)
        return (own.timezone, own.quiet_hours) if own else (self.default_timezone, self.quiet_hours)
