"""One route of the HTTP API: its method, path, view and how the edge treats it (token, Idempotency-Key, stage).

A module of its own so that the route table (``routes.py``), the HTTP serving (``http.py``) and the API's
documentation (``openapi.py``) all name the type without importing each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# "required" / "optional": replays through the idempotency table around the view; "in_transaction": required, and
# written by the use case's own transaction (see storage.idempotency.Claim); "none": the header is ignored.
Idempotency = Literal["required", "optional", "none", "in_transaction"]


# What each path parameter of the API may be, matched whole (``re.fullmatch``): a value that cannot be one is refused by
# the edge with 404 before the view runs and before anything is read (a 3,000-digit id would otherwise reach
# DynamoDB's key limits). The OpenAPI document shows them as the parameters' patterns. Every parameter of every route
# must be here (tests/unit/test_routes.py).
PATH_PATTERNS: dict[str, str] = {
    "period_id": r"[0-9A-Za-z][0-9A-Za-z_-]{0,31}",
    "certificate_id": r"[0-9]{10}",
    "provider_id": r"[0-9]{10}|[0-9]{12}",
    "document_id": r"(?:licence|charter|other)-[0-9a-f]{32}",
    "program_id": r"[A-Za-z0-9_-]{1,64}",
    "contract_id": r"[0-9]{10}-[0-9a-f]{12}",
    "month": r"[0-9]{4}-(?:0[1-9]|1[0-2])",
    "objection_id": r"[0-9]{10}-[0-9a-f]{12}-[0-9]{4}-(?:0[1-9]|1[0-2])",
    "name": r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}",
}
_PATH_PATTERNS = {name: re.compile(pattern) for name, pattern in PATH_PATTERNS.items()}
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def malformed_parameter(params: dict[str, str]) -> str | None:
    """The first path parameter whose value cannot be one (an unknown parameter never can), or None."""
    for name, value in params.items():
        pattern = _PATH_PATTERNS.get(name)
        if pattern is None or not pattern.fullmatch(value):
            return name
    return None


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    view: str
    # No token needed (a view may still read one, e.g. the catalog shows a provider its own unpublished programs).
    public: bool = False
    idempotency_key: Idempotency = "none"
    # Served in the local stage only: /dev/* (tokens and the clock for trying things end to end) and /docs.
    local_only: bool = False

    @property
    def name(self) -> str:
        return self.view.replace(":", "_")

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameters(self) -> list[str]:
        """The path's parameters, in order."""
        return _PARAMETER.findall(self.path)
