"""Errors raised while fetching, starting or stopping the local stack."""
from __future__ import annotations


class StackError(Exception):
    """Root of every local-stack failure."""


class FetchError(StackError):
    """The jars could not be downloaded (Maven missing, no network, unknown artifact)."""


class StartupError(StackError):
    """A server did not become ready; the message carries the tail of its log."""
