"""The API's OpenAPI document, printed (or compared with an earlier one): what clients build against.

    .venv/bin/python -m devtools.openapi [--local] > openapi.json
    .venv/bin/python -m devtools.openapi --local web/generated/openapi.json
    .venv/bin/python -m devtools.openapi [--local] --against old.json [--renamed OLD=NEW ...]

``--against`` prints each difference (a path of the document, then what changed) and exits 1 if there is any;
``--renamed`` first renames component schemas of the old document (and every ``$ref`` to them), so a schema that only
changed its name compares equal. Nothing here needs AWS or DynamoDB: the document is built from the route table and
the models (functions/edge/openapi.py).

The Navigator's build (web/, ``make web``) writes the local stage's document to a file and generates its API types
from it with openapi-typescript, so a change of the contract breaks the client's type check (``tsc --noEmit`` in
``make lint``), not its users. The local stage's document is the larger one: it also has ``/dev/token``, which the
local sign-in page calls.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REF_PREFIX = "#/components/schemas/"


def document(*, local: bool) -> dict[str, Any]:
    from functions.edge import openapi

    return openapi.document(local=local)


def renamed(node: Any, names: dict[str, str]) -> Any:
    """``node`` with its component schemas (and the references to them) renamed."""
    if isinstance(node, list):
        return [renamed(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    found = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
            value = REF_PREFIX + names.get(value.removeprefix(REF_PREFIX), value.removeprefix(REF_PREFIX))
        found[key] = renamed(value, names)
    schemas = found.get("components", {}).get("schemas") if "openapi" in found else None
    if schemas is not None:
        found["components"]["schemas"] = {names.get(name, name): schema for name, schema in schemas.items()}
        for old, new in names.items():
            if new in found["components"]["schemas"] and old in schemas:
                found["components"]["schemas"][new] = {**found["components"]["schemas"][new], "title": new}
    return found


def differences(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """Where ``old`` and ``new`` differ, one line each."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key not in old:
                yield f"{path}/{key}: added {json.dumps(new[key], ensure_ascii=False)[:200]}"
            elif key not in new:
                yield f"{path}/{key}: removed {json.dumps(old[key], ensure_ascii=False)[:200]}"
            else:
                yield from differences(old[key], new[key], f"{path}/{key}")
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            yield from differences(before, after, f"{path}[{index}]")
    elif old != new:
        yield f"{path}: {json.dumps(old, ensure_ascii=False)[:200]} -> {json.dumps(new, ensure_ascii=False)[:200]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.openapi", description=__doc__.split("\n\n")[0])
    parser.add_argument("--local", action="store_true", help="the local stage's document (with /dev and /docs)")
    parser.add_argument("--against", type=Path, help="an earlier document to compare with")
    parser.add_argument("--renamed", nargs="*", default=[], metavar="OLD=NEW", help="component schemas renamed")
    parser.add_argument("output", nargs="?", type=Path, help="write the document to this file instead of printing it")
    args = parser.parse_args(argv)
    current = document(local=args.local)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(current, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        args.output.write_text(text, encoding="utf-8")
        return 0
    if args.against is None:
        json.dump(current, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    names = dict(pair.split("=", 1) for pair in args.renamed)
    found = list(differences(renamed(json.loads(args.against.read_text()), names), current))
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
