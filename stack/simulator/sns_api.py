"""Amazon SNS's Query API subset carelay uses: `Action=Publish` to a phone number, and the SMS delivery
report that follows, posted to the gateway as a signed SNS notification (SignatureVersion 2).

Served at `/sns` (boto3's `endpoint_url=<simulator>/sns`). The request's SigV4 credential must name
the configured access key id (the signature itself is not recomputed). Outcomes by the number's last
digits: ...9990 `Throttling` (400), ...9991 `OptedOut` (400), ...9992 a FAILURE delivery report
("Unknown error attempting to reach phone"); a number that is not E.164 is `InvalidParameter`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from typing import Any
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.sns.connector import ORIGINATION_NUMBER, SMS_TYPE
from connectors.sns.signature import sign
from connectors.sns.webhooks import PATH
from schemas.phi import is_e164
from stack.simulator.state import SimState
from stack.simulator.store import Record

XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
CERT_PATH = "/sns/SimpleNotificationService-simulator.pem"
OUTCOMES = {"9990": ("Throttling", 400, "Rate exceeded"), "9991": ("OptedOut", 400, "Phone is opted out")}
FAILING = "9992"


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/xml")


def _error(code: str, status: int, message: str) -> Response:
    sender = "Receiver" if status >= 500 else "Sender"
    return _xml(f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>{sender}</Type><Code>{code}</Code>'
                f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
                status)


def delivery_record(message_id: str, to: str, failed: bool) -> dict[str, Any]:
    """An SMS delivery status log record, as SNS writes it for a Publish to a phone number."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return {"notification": {"messageId": message_id, "timestamp": stamp},
            "delivery": {"destination": to, "smsType": "Transactional", "priceInUSD": 0.00645, "mcc": 310,
                         "mnc": 270, "dwellTimeMs": 599, "providerResponse": (
                             "Unknown error attempting to reach phone" if failed
                             else "Message has been accepted by phone carrier")},
            "status": "FAILURE" if failed else "SUCCESS"}


def notification(state: SimState, message: str, base_url: str) -> dict[str, Any]:
    """A signed SNS HTTP/S notification document carrying `message`."""
    doc: dict[str, Any] = {
        "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": state.config.sns_topic_arn,
        "Message": message, "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "SignatureVersion": "2", "SigningCertURL": base_url + CERT_PATH,
    }
    doc["Signature"] = sign(state.sns_signing_key, doc)
    return doc


async def _report(state: SimState, url: str, message_id: str, to: str, failed: bool, base_url: str) -> None:
    await asyncio.sleep(state.config.sns_report_delay_s)
    state.store.update(message_id, "failed" if failed else "delivered")
    doc = notification(state, json.dumps(delivery_record(message_id, to, failed)), base_url)
    await state.dispatcher.post_json(url, doc, {"x-amz-sns-message-type": "Notification"},
                                     provider="sns", kind="status", sid=message_id, status=doc["Type"])


async def publish(request: Request) -> Response:
    state = _state(request)
    auth = request.headers.get("authorization", "")
    if f"Credential={state.config.sns_access_key_id}/" not in auth:
        return _error("InvalidClientTokenId", 403, "The security token included in the request is invalid.")
    form = await request.form()
    if form.get("Action") != "Publish":
        return _error("InvalidAction", 400, "Only Publish is simulated")
    to, text = str(form.get("PhoneNumber") or ""), str(form.get("Message") or "")
    if not is_e164(to):
        return _error("InvalidParameter", 400, "Invalid parameter: PhoneNumber")
    if not text:
        return _error("InvalidParameter", 400, "Invalid parameter: Message")
    entry = "MessageAttributes.entry.{}.".format
    attributes = {str(form.get(entry(n) + "Name")): str(form.get(entry(n) + "Value.StringValue"))
                  for n in range(1, 11) if form.get(entry(n) + "Name")}
    if attributes.get(SMS_TYPE, "Transactional") not in ("Transactional", "Promotional"):
        return _error("InvalidParameter", 400, "Invalid parameter: MessageAttributes")
    outcome = OUTCOMES.get(to[-4:])
    if outcome is not None:
        return _error(*outcome)
    message_id = str(uuid.uuid4())
    state.sns_published.append({"MessageId": message_id, "PhoneNumber": to, "Message": text, **attributes})
    state.store.add(Record(message_id, "sns", "SMS", "text", to, attributes.get(ORIGINATION_NUMBER, ""), time.time(),
                           "sent", body=text))
    base_url = str(request.base_url).rstrip("/")
    url = state.config.gateway_url.rstrip("/") + PATH + f"?org={state.config.sns_organization}"
    state.dispatcher.spawn(_report(state, url, message_id, to, to.endswith(FAILING), base_url))
    return _xml(f'<PublishResponse xmlns="{XMLNS}"><PublishResult><MessageId>{message_id}</MessageId>'
                f"</PublishResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                "</PublishResponse>")


async def certificate(request: Request) -> Response:
    return Response(_state(request).sns_cert_pem, media_type="application/x-pem-file")


ROUTES = [Route("/sns", publish, methods=["POST"]), Route("/sns/", publish, methods=["POST"]),
          Route(CERT_PATH, certificate, methods=["GET"])]
