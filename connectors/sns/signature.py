"""SNS message signatures (HTTP/S subscriptions): SignatureVersion 2, RSA PKCS#1 v1.5 over SHA-256.

The string to sign is each present field's name and value on their own lines, in this order:
Notification: Message, MessageId, Subject (when present), Timestamp, TopicArn, Type;
SubscriptionConfirmation / UnsubscribeConfirmation: Message, MessageId, SubscribeURL, Timestamp,
Token, TopicArn, Type. `Signature` is its base64 signature under the key of the certificate at
`SigningCertURL`. We do not fetch that URL: the certificate is configured
(CARELAY_SNS_SIGNING_CERT_FILE), so a message naming any other key fails, and only the configured
topic's messages are accepted.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HEADER = "x-amz-sns-message-type"  # SNS names the message type in this header too
SIGNATURE_VERSION = "2"
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    names = NOTIFICATION_FIELDS if message.get("Type") == "Notification" else CONFIRMATION_FIELDS
    lines = []
    for name in names:
        value = message.get(name)
        if value is None:
            continue
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode()


def load_certificate(pem: bytes) -> rsa.RSAPublicKey:
    key = x509.load_pem_x509_certificate(pem).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the SNS signing certificate must hold an RSA key")
    return key


def verify_message(key: rsa.RSAPublicKey | None, message: Any, topic_arn: str) -> bool:
    """The message is signed (version 2) by `key` and comes from `topic_arn`."""
    if key is None or not isinstance(message, Mapping) or not topic_arn:
        return False
    if str(message.get("SignatureVersion")) != SIGNATURE_VERSION or message.get("TopicArn") != topic_arn:
        return False
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def sign(private_key: rsa.RSAPrivateKey, message: Mapping[str, Any]) -> str:
    """The `Signature` SNS would send (the simulator and tests sign with it)."""
    return base64.b64encode(private_key.sign(string_to_sign(message), padding.PKCS1v15(), hashes.SHA256())).decode()
