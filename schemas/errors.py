"""The root of carelay's exception hierarchy; each package adds its own small exceptions module."""
from __future__ import annotations


class CarelayError(Exception):
    """Base class of every error carelay raises on purpose.

    Messages never carry PHI: name the field or the pseudonym, never the value.
    """


class ConfigError(CarelayError):
    """A setting is missing or malformed; raised at start-up, naming the variable."""


class ContractError(CarelayError):
    """A record does not match its Avro contract (encode or decode)."""


class SchemaCompatibilityError(ContractError):
    """A schema change breaks compatibility with the version already registered."""


class PhiError(CarelayError):
    """Sealing or opening a PHI field failed (unknown key id, tampered ciphertext)."""


class UnknownTemplateError(ContractError):
    """A send names a template or language the catalog does not have."""


class TemplateParameterError(ContractError):
    """A send omits a template parameter, or passes one the template does not declare."""
