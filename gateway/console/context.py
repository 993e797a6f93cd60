"""What the console's pages share within one gateway process: its views, signer, hub and clock.

Built by the gateway's lifespan (`build`) next to its other services; pages reach it as `console(request)`.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from gateway.console.accounts import AccountView
from gateway.console.appointment_views import AnswerView, PlanIndexView
from gateway.console.hub import Hub
from gateway.console.inbox import ActionView
from gateway.console.lockout import Policy, SignInView
from gateway.console.ops_views import OpsViews, consumer_groups
from gateway.console.sessions import Signer
from gateway.console.thread_views import ConversationViews
from gateway.services import Services
from gateway.topicview import TopicView

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
TEMPLATES.env.auto_reload = False  # compiled once per process: no file check per render and per include


def dom_id(notice_id: str) -> str:
    """A notice's element id: stable, and safe in a CSS selector whatever the event id holds."""
    return "notice-" + hashlib.sha256(notice_id.encode("utf-8")).hexdigest()[:16]


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def local_time(timezone: str) -> Callable[[int], str]:
    zone = ZoneInfo(timezone)
    return lambda ms: datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%d %H:%M")


TEMPLATES.env.filters["domid"] = dom_id
TEMPLATES.env.filters["iso"] = iso_utc
STATIC_DIR = HERE / "static"


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Console:
    svc: Services
    accounts: AccountView
    signins: SignInView
    actions: ActionView
    hub: Hub
    signer: Signer
    policy: Policy
    idle_ms: int
    max_ms: int
    secure_cookies: bool
    plans: PlanIndexView  # the appointments page (gateway.console.appointments_page)
    answers: AnswerView
    conversation: ConversationViews  # the conversation page (gateway.console.conversation_page)
    ops: OpsViews  # the operations page (gateway.console.ops_page)
    clock: Callable[[], int] = wall_clock_ms  # tests set their own

    @property
    def views(self) -> tuple[TopicView, ...]:
        return self.accounts, self.signins, self.actions, self.plans, self.answers, *self.conversation.views

    @property
    def loaded(self) -> bool:
        return all(v.loaded for v in self.views) and self.svc.staff.loaded

    def start(self) -> None:
        self.hub.bind(asyncio.get_running_loop())
        self.svc.staff.listeners.append(self.hub.notice)
        self.actions.listeners.append(self.hub.handling)
        for view in self.views:
            view.start()
        self.ops.start()

    def close(self) -> None:
        for view in self.views:
            view.close()
        self.ops.close()


def build(svc: Services) -> Console:
    s, k, topics = svc.settings, svc.settings.kafka, svc.topics
    c = s.console
    return Console(
        svc=svc,
        accounts=AccountView(k.bootstrap, topics.staff_accounts.name, topics.staff_accounts.codec),
        signins=SignInView(k.bootstrap, topics.staff_signins.name, topics.staff_signins.codec,
                           c.session_max_s * 1000),
        actions=ActionView(k.bootstrap, topics.staff_actions.name, topics.staff_actions.codec),
        hub=Hub(),
        signer=Signer(str(c.session_key).encode("utf-8")),
        policy=Policy(c.lockout_failures, c.lockout_s * 1000),
        idle_ms=c.idle_s * 1000,
        max_ms=c.session_max_s * 1000,
        secure_cookies=s.env != "development",
        plans=PlanIndexView(k.bootstrap, topics.appointment_plans.name, topics.appointment_plans.codec),
        answers=AnswerView(k.bootstrap, topics.appointment_events.name, topics.appointment_events.codec),
        conversation=ConversationViews(k.bootstrap, topics),
        ops=OpsViews(k.bootstrap, topics, svc.directory, consumer_groups(s)),
    )


def console(request: Request) -> Console:
    con: Console = request.app.state.console
    return con
