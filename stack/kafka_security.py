"""A SASL_SSL listener for the local broker: a CA and a broker certificate made here (`cryptography`),
SCRAM-SHA-512 users, one principal per carelay service, and Kafka's StandardAuthorizer so that each
principal reaches only what an ACL grants it.

The broker talks to itself over SASL_SSL as `admin`; the KRaft controller listener stays PLAINTEXT on
127.0.0.1 (it serves controller requests only, never a fetch).
"""
from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVICES = ("gateway", "streams", "analytics", "agent")  # one SCRAM principal each
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class Certificates:
    ca: Path          # PEM: what clients trust (CARELAY's CA file)
    broker: Path      # PEM: the broker's private key (PKCS#8) and certificate chain


def make_certificates(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                      days: int = 365) -> Certificates:
    """A CA and a broker certificate for `hosts` (IP addresses and names), written under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "carelay local CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=days))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, broker_path = directory / "ca.pem", directory / "broker.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    broker_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    broker_path.chmod(0o600)
    return Certificates(ca_path, broker_path)


def broker_overrides(*, port: int, sasl_port: int, controller_port: int, certs: Certificates,
                     admin_password: str) -> dict[str, str]:
    """server.properties for a broker whose clients all come through SASL_SSL on `sasl_port`."""
    jaas = ("org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="admin" password="{admin_password}";')
    return {
        "listeners": f"SASL_SSL://127.0.0.1:{sasl_port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{sasl_port}",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
        "inter.broker.listener.name": "SASL_SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": jaas,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs.broker),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs.ca),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        # admin: the broker itself and the operator; ANONYMOUS: the controller listener (127.0.0.1, no fetches)
        "super.users": "User:admin;User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
    }


def scram_arguments(users: Mapping[str, str]) -> list[str]:
    """`kafka-storage format` arguments creating each SCRAM user with its password."""
    args: list[str] = []
    for name, password in users.items():
        args += ["--add-scram", f"{MECHANISM}=[name={name},password={password}]"]
    return args


def client_config(bootstrap: str, ca_file: Path | None, username: str | None = None,
                  password: str | None = None) -> dict[str, str]:
    """librdkafka settings for a client of the SASL_SSL listener (no username: TLS only, no SASL)."""
    config = {"bootstrap.servers": bootstrap}
    if username is None:
        config["security.protocol"] = "SSL"
    else:
        config.update({"security.protocol": "SASL_SSL", "sasl.mechanism": MECHANISM,
                       "sasl.username": username, "sasl.password": password or ""})
    if ca_file is not None:
        config["ssl.ca.location"] = str(ca_file)
    return config
