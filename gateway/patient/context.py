"""What the patient page shares within one gateway process: the link key, its views, the guess limit."""
from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field
from typing import cast

from starlette.requests import Request

from gateway.patient.links import Guesses
from gateway.patient.views import InAppFeed, LinkView
from gateway.services import Services


@dataclass
class PatientPage:
    key: bytes
    ttl_ms: int
    links: LinkView
    feed: InAppFeed
    guesses: Guesses
    secure_cookies: bool
    clock: Clock = field(default_factory=lambda: Clock())

    def start(self) -> None:
        self.feed.bind(asyncio.get_running_loop())
        self.links.start()
        self.feed.start()

    def close(self) -> None:
        self.links.close()
        self.feed.close()

    @property
    def loaded(self) -> bool:
        return self.links.loaded


class Clock:
    """Wall time in ms; tests move it."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


def build(svc: Services) -> PatientPage:
    s, k, topics = svc.settings, svc.settings.kafka, svc.topics
    p = s.patient_page
    return PatientPage(
        key=base64.b64decode(str(p.link_key)),
        ttl_ms=p.link_ttl_s * 1000,
        links=LinkView(k.bootstrap, topics.patient_links.name, topics.patient_links.codec),
        feed=InAppFeed(k.bootstrap, topics.inapp.name, topics.inapp.codec),
        guesses=Guesses(p.guesses_per_minute),
        secure_cookies=s.env != "development",
    )


def patient_page(request: Request) -> PatientPage:
    return cast(PatientPage, request.app.state.patient_page)
