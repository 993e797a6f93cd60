"""`make demo` / `carelay demo`: appointment reminders through a running `make run`, then the report.

Sends a batch of reminders for a dozen fictitious patients through the gateway. The simulator's
demo scenario makes some numbers misbehave as real ones do (no WhatsApp, a landline, no answer),
so some reminders fall back to SMS and one to a voice call; one patient replies STOP and a later
message to them is blocked. Prints each message's outcome, then the delivery report from ClickHouse.
Patients are shown by number in this list, never by phone number.
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from carelay.client import ApiError, Client, Message, Template
from stack.simulator.scenarios import PRESETS

SENDER_KEY = "demo-clinic-sender-key"
ANALYST_KEY = "demo-clinic-analyst-key"
META_PHONE_NUMBER_ID = "100000000000001"  # MetaSettings default; the demo channel instance
FINAL_WAIT_S = 90.0

# Fictitious numbers (Mexico City, 555 prefix); the endings select the simulator's demo rules.
PATIENTS: list[tuple[str, str, str]] = [
    ("+5215555010001", "Ana", "es"), ("+5215555010002", "Luis", "es"), ("+5215555010003", "Carmen", "es"),
    ("+5215555010004", "Jorge", "es"), ("+14155550105", "Emily", "en"), ("+5511955550106", "Joao", "pt"),
    ("+5215555011026", "Rosa", "es"),      # ...1026: no WhatsApp -> falls back to SMS
    ("+5215555021026", "Pedro", "es"),     # ...1026: no WhatsApp -> SMS
    ("+5215555017700", "Marta", "es"),     # ...7700: no WhatsApp, SMS to a landline -> voice call
    ("+5215555010211", "Raul", "es"),      # ...0211: invalid number at Twilio, WhatsApp still works
    ("+5215555010007", "Sofia", "es"),     # replies STOP after her reminder
]
STOP_PATIENT = 10
EXTRA_RULES = [
    {"provider": "meta", "to": "7700$", "code": 131026},
    {"provider": "twilio", "channel": "WHATSAPP", "to": "7700$", "code": 63024},
    {"channel": "SMS", "to": "7700$", "code": 30006},
]


def _reminder(n: int, phone: str, name: str, lang: str, run: str, key: str | None = None) -> Message:
    return Message(
        to=phone, idempotency_key=key or f"demo-{run}-{n}", recipient_name=name, patient_ref=f"DEMO-{n}",
        channels=("WHATSAPP", "SMS", "VOICE"), appointment_id=f"demo-appt-{run}-{n}",
        template=Template("appointment_reminder", lang,
                          {"patient_name": name, "clinic": "Clinica Norte", "date": "2 dic", "time": "10:30"}),
    )


def _wait_final(gw: Client, ids: list[str]) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + FINAL_WAIT_S
    while time.monotonic() < deadline:
        for mid in ids:
            if not states.get(mid, {}).get("is_final"):
                try:
                    states[mid] = dict(gw.get_message(mid).raw)
                except ApiError as exc:
                    if exc.status != 404:  # not yet known: asked again next round
                        raise
        if all(states.get(mid, {}).get("is_final") for mid in ids):
            break
        time.sleep(1.0)
    return states


def _print_outcomes(title: str, ids: list[str], states: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"  {'patient':<9}{'status':<20}{'channel':<10}{'provider':<9}{'hops':<5}")
    for n, mid in enumerate(ids, 1):
        st = states.get(mid, {})
        channels = [h["channel"] for h in st.get("history", []) if h["status"] == "routed"]
        print(f"  {n:<9}{st.get('status', 'pending'):<20}{st.get('channel', '-'):<10}"
              f"{st.get('provider') or '-':<9}{' > '.join(channels):<5}")


def main(gateway_url: str = "http://127.0.0.1:8000", simulator_url: str = "http://127.0.0.1:8100",
         analytics_url: str = "http://127.0.0.1:8200") -> int:
    run = uuid.uuid4().hex[:6]
    sim = httpx.Client(base_url=simulator_url, timeout=10)
    gw = Client(gateway_url, SENDER_KEY)  # carelay.client, as an integrator would (docs/client.md)
    sim.put("/_sim/scenarios", json={"preset": "demo", "rules": [*PRESETS["demo"]["rules"], *EXTRA_RULES]})

    items = [_reminder(n, *p, run) for n, p in enumerate(PATIENTS, 1)]
    batch = gw.send_batch(items, idempotency_key=f"demo-{run}")
    ids = [item.accepted.message_id for item in batch.items if item.accepted is not None]
    print(f"carelay demo {run}: {len(ids)} appointment reminders accepted by the gateway")
    states = _wait_final(gw, ids)
    _print_outcomes("reminders:", ids, states)

    stop_phone = PATIENTS[STOP_PATIENT][0]
    sim.post("/_sim/inbound", json={"provider": "meta", "from": stop_phone, "to": META_PHONE_NUMBER_ID,
                                    "text": "STOP"}).raise_for_status()
    print(f"\npatient {STOP_PATIENT + 1} replied STOP; sending them a follow-up ...")
    time.sleep(2.0)
    follow = _reminder(STOP_PATIENT + 1, *PATIENTS[STOP_PATIENT], run, key=f"demo-{run}-followup")
    follow_id = gw.send(follow).message_id
    _print_outcomes("follow-up to the patient who opted out:", [follow_id], _wait_final(gw, [follow_id]))

    time.sleep(3.0)  # the analytics sink writes in batches of at most a second
    from analytics.report import main as report_main

    print("\ndelivery report (ClickHouse, last 24 h, demo-clinic):")
    return report_main(["--org", "demo-clinic", "--url", analytics_url],
                       environ={"CARELAY_ANALYTICS_API_KEY": ANALYST_KEY})


def cli(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m stack.demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--gateway-url", default="http://127.0.0.1:8000")
    p.add_argument("--simulator-url", default="http://127.0.0.1:8100")
    p.add_argument("--analytics-url", default="http://127.0.0.1:8200")
    args = p.parse_args(argv)
    return main(args.gateway_url, args.simulator_url, args.analytics_url)


if __name__ == "__main__":
    sys.exit(cli())
