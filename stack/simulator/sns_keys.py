"""The simulator's SNS signing key: an RSA key and its self-signed certificate, fresh per run or read from
files (`--sns-signing-key`, with the gateway's CARELAY_SNS_SIGNING_CERT_FILE) when processes must agree."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def signing_pair() -> tuple[rsa.RSAPrivateKey, bytes]:
    """A fresh RSA key and its self-signed certificate (PEM), as the simulator's SNS signs with."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.simulator.local")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


def write_signing_pair(directory: Path) -> tuple[Path, Path]:
    """A fresh pair written as `sns-signing.key` and `sns-signing.pem` (the gateway's
    CARELAY_SNS_SIGNING_CERT_FILE) under `directory`; (key path, certificate path)."""
    key, cert = signing_pair()
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / "sns-signing.key", directory / "sns-signing.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert)
    return key_path, cert_path


def load_signing_pair(key_file: str, cert_file: str) -> tuple[rsa.RSAPrivateKey, bytes]:
    """The pair written by write_signing_pair; a fresh one when either file is not named."""
    if not key_file or not cert_file:
        return signing_pair()
    key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the SNS signing key must be an RSA key")
    return key, Path(cert_file).read_bytes()
