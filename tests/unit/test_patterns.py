"""Every pattern a value is checked against matches the whole value: Python's ``$`` also matches before a final new
line, so ``re.match(r"^[a-z]+$", "elizovo\\n")`` accepts it; ``fullmatch`` does not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from chalicelib.domain import errors
from chalicelib.domain.certificate import has_check_digit, has_legacy_check_digit, new_certificate_number
from chalicelib.domain.contract import certificate_of, new_contract_id, require_contract_id
from chalicelib.domain.objection import parse_objection_id
from chalicelib.domain.period import MUNICIPALITY, PERIOD_ID
from chalicelib.domain.program import check_municipality
from chalicelib.services.certificates import normalise_full_name

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_municipality_with_a_trailing_new_line_is_refused() -> None:
    with pytest.raises(errors.InvalidRequest):
        check_municipality("elizovo\n")
    assert MUNICIPALITY.fullmatch("elizovo")
    assert not MUNICIPALITY.fullmatch("elizovo\n")
    assert not PERIOD_ID.fullmatch("2027\n")


def test_ids_with_a_trailing_new_line_are_not_ids() -> None:
    number = new_certificate_number()
    assert has_check_digit(number) and not has_check_digit(number + "\n")
    assert not has_legacy_check_digit(number[:9] + "0\n")
    contract_id = new_contract_id(number, "key")
    assert require_contract_id(contract_id) == contract_id
    with pytest.raises(errors.ContractNotFound):
        require_contract_id(contract_id + "\n")
    with pytest.raises(errors.ContractNotFound):
        certificate_of(contract_id + "\n")
    with pytest.raises(errors.ObjectionNotFound):
        parse_objection_id(f"{contract_id}-2027-03\n")


def test_a_name_with_a_trailing_new_line_is_normalised_not_taken_raw() -> None:
    """Surrounding white space is trimmed first (its new line is gone), so the pattern sees the name alone."""
    assert normalise_full_name("Иванов Иван\n") == "Иванов Иван"


def test_no_pattern_is_matched_with_match_in_the_code() -> None:
    """``fullmatch`` on every compiled pattern of the service (``search`` stays where finding a part is the point)."""
    offenders = []
    for folder in ("chalicelib", "functions", "devtools", "infra"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree) if _matches(node)]
    assert offenders == []


def _matches(node: ast.AST) -> bool:
    """``PATTERN.match(...)``, ``_PATTERN.match(...)`` or ``self.pattern.match(...)``."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "match"):
        return False
    target = node.func.value
    if isinstance(target, ast.Name):
        return target.id.lstrip("_").isupper()
    return isinstance(target, ast.Attribute) and target.attr == "pattern"
