"""The simulator's HTTP tests share the connectors' fixtures (simulator + gateway stub)."""
from tests.connectors.conftest import _servers, anyio_backend, stack

__all__ = ["_servers", "anyio_backend", "stack"]
