"""Routes of providers (filled in by the providers work)."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
