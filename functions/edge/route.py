"""One route of the HTTP API: its method, path, view and how the edge treats it (token, Idempotency-Key, stage).

A module of its own so that the route table (``routes.py``), the HTTP serving (``http.py``) and the API's
documentation (``openapi.py``) all name the type without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# "required" / "optional": replays through the idempotency table around the view; "in_transaction": required, and
# written by the use case's own transaction (see storage.idempotency.Claim); "none": the header is ignored.
Idempotency = Literal["required", "optional", "none", "in_transaction"]


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
