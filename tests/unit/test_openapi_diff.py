"""devtools.openapi: the document compared with an earlier one, schemas renamed first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.openapi import differences, document, main, renamed


def test_the_document_equals_itself_and_a_renamed_schema_compares_equal_under_its_new_name(tmp_path: Path) -> None:
    current = document(local=False)
    assert list(differences(current, current)) == []
    old = json.loads(json.dumps(current).replace('"RatingOut"', '"OldRating"').replace("/RatingOut", "/OldRating"))
    assert list(differences(old, current))  # the name differs
    assert list(differences(renamed(old, {"OldRating": "RatingOut"}), current)) == []
    saved = tmp_path / "old.json"
    saved.write_text(json.dumps(old))
    assert main(["--against", str(saved), "--renamed", "OldRating=RatingOut"]) == 0


def test_a_field_that_changes_type_is_a_difference(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = document(local=False)
    changed = json.loads(json.dumps(old))
    changed["components"]["schemas"]["RatingOut"]["properties"]["count"]["type"] = "string"
    saved = tmp_path / "old.json"
    saved.write_text(json.dumps(changed))
    assert main(["--against", str(saved)]) == 1
    assert "/components/schemas/RatingOut/properties/count/type" in capsys.readouterr().out
