"""Opaque, tamper-evident pagination cursors: the DynamoDB key to continue after, signed with HMAC-SHA256."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.domain import errors


def _sign(secret: str, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:18]).decode()


def encode(secret: str, scope: str, key: dict[str, Any] | None) -> str | None:
    """``scope`` binds the cursor to one listing (e.g. one certificate's ledger) so it cannot be replayed elsewhere."""
    if key is None:
        return None
    payload = json.dumps({"s": scope, "k": key}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _sign(secret, payload)


def decode(secret: str, scope: str, cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        body, signature = cursor.split(".", 1)
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        valid = hmac.compare_digest(signature, _sign(secret, payload))
        data = json.loads(payload) if valid else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("k"), dict):
        raise errors.InvalidRequest("invalid cursor")
    key: dict[str, Any] = data["k"]
    return key
