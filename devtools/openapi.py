"""Writes the API's OpenAPI document without a server: what ``GET /openapi.json`` answers in the local stage.

    .venv/bin/python -m devtools.openapi web/generated/openapi.json

The Navigator's build (web/, ``make web``) generates its API types from this file with openapi-typescript, so a
change of the contract breaks the client's type check (``tsc --noEmit`` in ``make lint``), not its users. The local
stage's document is the larger one: it also has ``/dev/token``, which the local sign-in page calls.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def document() -> dict[str, Any]:
    from functions.edge import openapi  # imports every view module

    return openapi.document(local=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m devtools.openapi OUTPUT.json", file=sys.stderr)
        return 2
    target = Path(argv[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    target.write_text(text, encoding="utf-8")  # always: make compares its time with the API's sources
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
