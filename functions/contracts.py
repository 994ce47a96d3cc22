"""Routes of contracts (filled in by the contracts work)."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
