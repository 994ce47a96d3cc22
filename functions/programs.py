"""Routes of programs (filled in by the programs work)."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
