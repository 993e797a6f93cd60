"""The OpenAPI document describes the gateway's API as the app routes it: every path and method, no more."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.routing import Route

from gateway.app import create_app
from gateway.openapi import build_document
from schemas.settings import Settings

SETTINGS = Settings.from_env({"CARELAY_DEMO_API_KEYS": "true"})
DOC = build_document(SETTINGS.gateway)
METHODS = {"get", "put", "post", "delete", "patch"}


def test_every_routed_path_and_method_is_documented_and_nothing_else() -> None:
    app = create_app(SETTINGS)  # not started: no Kafka
    routed = {(r.path, m.lower()) for r in app.routes if isinstance(r, Route) for m in (r.methods or ()) if m != "HEAD"}
    documented = {(path, m) for path, ops in DOC["paths"].items() for m in ops if m in METHODS}
    assert documented == routed


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for ops in DOC["paths"].values() for m, op in ops.items()
           if m in METHODS and "operationId" in op]
    assert ids and len(ids) == len(set(ids))


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_every_reference_resolves() -> None:
    for ref in set(_refs(DOC)):
        node: Any = DOC
        assert ref.startswith("#/"), ref
        for part in ref[2:].split("/"):
            assert part in node, ref
            node = node[part]


def test_the_document_says_the_configured_limits() -> None:
    doc = build_document(Settings.from_env({"CARELAY_GATEWAY_MAX_BATCH_ITEMS": "7"}).gateway)
    assert "Send up to 7 messages" in doc["paths"]["/v1/messages:batch"]["post"]["summary"]
    assert doc["openapi"].startswith("3.")
