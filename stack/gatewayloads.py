"""The requests the gateway benchmarks send: a single and a batch send, signed Twilio and Meta status
callbacks, and the bare endpoint they are compared with.

stack.gatewaybench (over HTTP) and stack.gatewayinproc (as ASGI calls) both drive these.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from connectors.base import encode_refs
from connectors.meta.signature import sign
from connectors.meta.webhooks import PATH as META_PATH
from connectors.twilio.webhooks import PATHS as TWILIO_PATHS
from schemas.settings import MetaSettings, TwilioSettings

AUTH = "Bearer demo-clinic-sender-key"
SEND = {
    "to": "+5215512345678", "patient_ref": "MRN-0042", "recipient_name": "Ana Maria Lopez",
    "template": {"name": "appointment_reminder", "language": "es",
                 "params": {"patient_name": "Ana", "clinic": "Clinica Norte", "date": "1 de mayo", "time": "10:30"}},
    "appointment_id": "apt-1", "metadata": {"campaign": "bench"},
}


# -- the bare endpoint ------------------------------------------------------------------------

def bare_app() -> Starlette:
    """The floor: read the body, answer 202 JSON. No validation, no Kafka."""

    async def accept(request: Request) -> Response:
        await request.body()
        return Response(orjson.dumps({"message_id": str(uuid.uuid4()), "status": "accepted"}), 202,
                        media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response(b'{"status":"ready"}', media_type="application/json")

    return Starlette(routes=[Route("/v1/messages", accept, methods=["POST"]),
                             Route("/v1/messages:batch", accept, methods=["POST"]),
                             Route("/readyz", ready, methods=["GET"])])


# -- provider callbacks ------------------------------------------------------------------------

PUBLIC_URL = "http://gateway.bench"  # the gateway's CARELAY_PUBLIC_URL in the bench: Twilio signs it
REFS = encode_refs("demo-clinic", "5b0e6d8e-7a52-5d3e-9d3f-0f4a2d1c0b11", "bench-attempt")


def twilio_status_callback() -> tuple[str, bytes, dict[str, str]]:
    """(path and query, body, headers) of a signed WhatsApp status callback, as Twilio posts it."""
    path = f"{TWILIO_PATHS['status']}?{REFS}"
    sid = "SM" + "a" * 32
    form = {"AccountSid": TwilioSettings.account_sid, "ApiVersion": "2010-04-01", "From": "whatsapp:+15550001000",
            "To": "whatsapp:+5215512345678", "MessageSid": sid, "SmsSid": sid, "MessageStatus": "delivered",
            "SmsStatus": "delivered", "ChannelPrefix": "whatsapp", "ChannelToAddress": "+5215512345678",
            "ChannelInstallSid": "XE" + "0" * 32, "StructuredMessage": "false"}
    signature = RequestValidator(str(TwilioSettings().auth_token)).compute_signature(PUBLIC_URL + path, form)
    return path, urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                            "X-Twilio-Signature": signature}


def meta_status_callback() -> tuple[str, bytes, dict[str, str]]:
    """(path, body, headers) of a signed WhatsApp Cloud API `delivered` status webhook with pricing."""
    status = {"id": "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjQ2", "status": "delivered", "timestamp": "1764090000",
              "recipient_id": "5215512345678", "biz_opaque_callback_data": REFS,
              "conversation": {"id": "c" * 32, "expiration_timestamp": "1764176400", "origin": {"type": "utility"}},
              "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}}
    body = orjson.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp", "statuses": [status], "metadata": {
            "display_phone_number": "15550001001", "phone_number_id": MetaSettings.phone_number_id}}}]}]})
    return META_PATH, body, {"Content-Type": "application/json",
                                         "X-Hub-Signature-256": sign(str(MetaSettings().app_secret).encode(), body)}


# -- loads ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Load:
    """One kind of request: `keyed` sends get their own Idempotency-Key and the sender's API key."""

    path: str
    body: bytes
    headers: dict[str, str]
    keyed: bool = True


def send_load(path: str, body: bytes) -> Load:
    return Load(path, body, {"Content-Type": "application/json", "Authorization": AUTH})


def callback_load(callback: tuple[str, bytes, dict[str, str]]) -> Load:
    return Load(*callback, keyed=False)


def send_body(batch: int, run: str) -> bytes:
    if batch <= 1:
        return orjson.dumps(SEND)
    return orjson.dumps({"items": [{**SEND, "to": f"+52155{i:08d}"} for i in range(batch)]})
