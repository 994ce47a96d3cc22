"""The provider registry's rules, with no I/O: ИНН / ОГРН check digits, the application, decisions and documents."""

from __future__ import annotations

import pytest

from chalicelib.domain import errors
from chalicelib.domain.provider import (
    CONTENT_TYPES,
    MOVES,
    TRANSITIONS,
    Application,
    Contacts,
    DocumentKind,
    ProviderDecision,
    ProviderKind,
    ProviderStatus,
    check_registration_numbers,
    check_transition,
    content_matches,
    decide,
    document_key,
    document_kind,
    document_problem,
    is_valid_inn,
    is_valid_ogrn,
    new_document_id,
    queue_of,
    queued_at,
    refuse_unless_approved,
)

ORG = ProviderKind.ORGANIZATION
ENT = ProviderKind.ENTREPRENEUR

# Published registration numbers of real organisations and an entrepreneur.
VALID_ORGANIZATIONS = [
    ("7707083893", "1027700132195"),
    ("7736207543", "1027700229193"),
    ("7736050003", "1027700070518"),
]
VALID_ENTREPRENEURS = [("500100732259", "304500116000157")]


def ogrn_check(first12: str) -> str:
    return first12 + str(int(first12) % 11 % 10)


def inn10_check(first9: str) -> str:
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return first9 + str(sum(int(d) * w for d, w in zip(first9, weights, strict=True)) % 11 % 10)


# --- ИНН and ОГРН --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("inn", "ogrn"), VALID_ORGANIZATIONS)
def test_an_organisations_inn_and_ogrn_with_right_check_digits_are_valid(inn: str, ogrn: str) -> None:
    assert is_valid_inn(inn, ORG) and is_valid_ogrn(ogrn, ORG)
    check_registration_numbers(inn, ogrn, ORG)


@pytest.mark.parametrize(("inn", "ogrnip"), VALID_ENTREPRENEURS)
def test_an_entrepreneurs_inn_and_ogrnip_with_right_check_digits_are_valid(inn: str, ogrnip: str) -> None:
    assert is_valid_inn(inn, ENT) and is_valid_ogrn(ogrnip, ENT)
    check_registration_numbers(inn, ogrnip, ENT)


@pytest.mark.parametrize(
    "inn",
    [
        "7707083894",  # the check digit is off by one
        "7707083803",  # a body digit mistyped
        "7707038893",  # two digits swapped
        "770708389",  # 9 digits
        "77070838930",  # 11 digits
        "",
        "77070838A3",  # a letter
        " 7707083893",
        "7707083893 ",
        "7707083893\n",
        "+707083893",
        "-707083893",
        "７７０７０８３８９３",  # full-width digits: int() reads them, the registry must not
        "٧٧٠٧٠٨٣٨٩٣",  # Arabic-Indic digits
        inn10_check("001234567"),  # right check digit, but "00" is no region
        "500100732259",  # an entrepreneur's ИНН given for an organisation
    ],
)
def test_a_bad_organisation_inn_is_invalid(inn: str) -> None:
    assert not is_valid_inn(inn, ORG)
    with pytest.raises(errors.InvalidRequest, match="inn"):
        check_registration_numbers(inn, "1027700132195", ORG)


@pytest.mark.parametrize(
    "inn",
    [
        "500100732258",  # the second check digit is wrong
        "500100732269",  # the first check digit is wrong
        "500100732299",  # both
        "50010073225",  # 11 digits
        "5001007322590",  # 13 digits
        "50010073225A",
        "7707083893",  # an organisation's ИНН given for an entrepreneur
        "５００１００７３２２５９",
    ],
)
def test_a_bad_entrepreneur_inn_is_invalid(inn: str) -> None:
    assert not is_valid_inn(inn, ENT)
    with pytest.raises(errors.InvalidRequest, match="inn"):
        check_registration_numbers(inn, "304500116000157", ENT)


@pytest.mark.parametrize(
    ("ogrn", "kind"),
    [
        ("1027700132196", ORG),  # check digit off by one
        ("1027700132185", ORG),  # a body digit mistyped
        ("102770013219", ORG),  # 12 digits
        ("10277001321950", ORG),  # 14 digits
        ("10277001321O5", ORG),  # a letter O for a zero
        (ogrn_check("202770013219"), ORG),  # right check digit, but 2 starts a record's ГРН, not an ОГРН
        ("304500116000157", ORG),  # an ОГРНИП given for an organisation
        ("304500116000158", ENT),  # check digit off by one
        ("30450011600015", ENT),  # 14 digits
        ("3045001160001570", ENT),  # 16 digits
        ("1027700132195", ENT),  # an ОГРН given for an entrepreneur
        ("１０２７７００１３２１９５", ORG),
    ],
)
def test_a_bad_ogrn_is_invalid(ogrn: str, kind: ProviderKind) -> None:
    assert not is_valid_ogrn(ogrn, kind)
    inn = "7707083893" if kind is ORG else "500100732259"
    with pytest.raises(errors.InvalidRequest, match="ogrn"):
        check_registration_numbers(inn, ogrn, kind)


def test_the_ogrnip_check_digit_is_taken_mod_13_not_mod_11() -> None:
    first14 = "30450011600019"
    assert int(first14) % 13 % 10 != int(first14) % 11 % 10  # the example tells the two rules apart
    assert is_valid_ogrn(first14 + str(int(first14) % 13 % 10), ENT)
    assert not is_valid_ogrn(first14 + str(int(first14) % 11 % 10), ENT)


# --- the application -----------------------------------------------------------------------------------------------


def application(**changes: object) -> Application:
    fields: dict[str, object] = {
        "name": "  МБУ ДО  «Детская школа искусств» ",
        "kind": ORG,
        "inn": "7707083893",
        "ogrn": "1027700132195",
        "licence": "Л035-01234-41/00123456",
        "municipality": "elizovo",
        "contacts": Contacts(" +7 (415) 312-34-56 ", " school@example.ru ", " Елизово,  ул. Ленина, 1 "),
    }
    fields.update(changes)
    return Application(**fields)  # type: ignore[arg-type]


def test_an_application_is_normalised() -> None:
    valid = application().validated()
    assert valid.name == "МБУ ДО «Детская школа искусств»"
    assert valid.contacts == Contacts("+7 (415) 312-34-56", "school@example.ru", "Елизово, ул. Ленина, 1")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 301}, "name"),
        ({"licence": " "}, "licence"),
        ({"municipality": "Елизово"}, "municipality"),
        ({"municipality": "*"}, "municipality"),
        ({"kind": ENT}, "inn"),  # an organisation's numbers under the entrepreneur kind
        ({"contacts": Contacts("call me", "a@b.ru")}, "phone"),
        ({"contacts": Contacts("+74153123456", "not-an-email")}, "email"),
        ({"contacts": Contacts("+74153123456", "a@b")}, "email"),
        ({"contacts": Contacts("+74153123456", "a@b.ru", "  ")}, "address"),
    ],
)
def test_an_application_the_registry_cannot_take_is_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(errors.InvalidRequest, match=field):
        application(**changes).validated()


# --- decisions -----------------------------------------------------------------------------------------------------

LEGAL = {
    (ProviderStatus.APPLIED, ProviderDecision.APPROVE): ProviderStatus.APPROVED,
    (ProviderStatus.APPLIED, ProviderDecision.REJECT): ProviderStatus.REJECTED,
    (ProviderStatus.APPROVED, ProviderDecision.SUSPEND): ProviderStatus.SUSPENDED,
    (ProviderStatus.SUSPENDED, ProviderDecision.REINSTATE): ProviderStatus.APPROVED,
}


@pytest.mark.parametrize(("current", "decision"), list(LEGAL))
def test_each_legal_decision_moves_the_provider(current: ProviderStatus, decision: ProviderDecision) -> None:
    assert decide(current, decision, "  licence   checked ") == (LEGAL[current, decision], "licence checked")


@pytest.mark.parametrize(
    ("current", "decision"),
    [(s, d) for s in ProviderStatus for d in ProviderDecision if (s, d) not in LEGAL],
)
def test_every_other_decision_is_an_invalid_transition(current: ProviderStatus, decision: ProviderDecision) -> None:
    with pytest.raises(errors.InvalidTransition):
        decide(current, decision, "a reason")


@pytest.mark.parametrize("decision", [ProviderDecision.REJECT, ProviderDecision.SUSPEND])
@pytest.mark.parametrize("reason", [None, "", "   ", "\n\t"])
def test_rejecting_or_suspending_needs_a_reason(decision: ProviderDecision, reason: str | None) -> None:
    source = MOVES[decision][0]
    with pytest.raises(errors.InvalidRequest, match="reason"):
        decide(source, decision, reason)


@pytest.mark.parametrize("decision", [ProviderDecision.APPROVE, ProviderDecision.REINSTATE])
def test_approving_or_reinstating_needs_no_reason(decision: ProviderDecision) -> None:
    assert decide(MOVES[decision][0], decision, None) == (MOVES[decision][1], None)
    assert decide(MOVES[decision][0], decision, "  ") == (MOVES[decision][1], None)


def test_a_reason_is_at_most_1000_characters() -> None:
    decide(ProviderStatus.APPLIED, ProviderDecision.REJECT, "x" * 1000)
    with pytest.raises(errors.InvalidRequest, match="reason"):
        decide(ProviderStatus.APPLIED, ProviderDecision.REJECT, "x" * 1001)


def test_the_decisions_are_exactly_the_transitions() -> None:
    edges = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}
    assert sorted(MOVES.values()) == sorted(edges)  # one decision per edge, no edge without a decision


@pytest.mark.parametrize("current", list(ProviderStatus))
@pytest.mark.parametrize("target", list(ProviderStatus))
def test_check_transition_allows_only_the_table(current: ProviderStatus, target: ProviderStatus) -> None:
    if target in TRANSITIONS[current]:
        check_transition(current, target)
    else:
        with pytest.raises(errors.InvalidTransition):
            check_transition(current, target)


def test_a_rejection_is_final() -> None:
    assert TRANSITIONS[ProviderStatus.REJECTED] == frozenset()


def test_only_an_approved_provider_may_contract_and_charge() -> None:
    refuse_unless_approved(ProviderStatus.APPROVED)
    with pytest.raises(errors.ProviderSuspended):
        refuse_unless_approved(ProviderStatus.SUSPENDED)
    for status in (ProviderStatus.APPLIED, ProviderStatus.REJECTED):
        with pytest.raises(errors.ProviderNotApproved):
            refuse_unless_approved(status)


def test_the_queue_key_orders_by_application_time_then_inn() -> None:
    assert queue_of("elizovo", ProviderStatus.APPLIED) == "elizovo#applied"
    keys = [
        queued_at("2027-03-01T10:00:00.000000Z", "7736207543"),
        queued_at("2027-03-01T09:00:00.000000Z", "7736207543"),
        queued_at("2027-03-01T09:00:00.000000Z", "7707083893"),
    ]
    assert sorted(keys) == [keys[2], keys[1], keys[0]]


# --- documents -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_a_document_id_carries_its_kind(kind: DocumentKind) -> None:
    document_id = new_document_id(kind)
    assert document_kind(document_id) is kind
    assert document_key("7707083893", document_id) == f"providers/7707083893/{document_id}"
    assert new_document_id(kind) != document_id


@pytest.mark.parametrize(
    "document_id",
    ["licence", "licence-123", "passport-" + "a" * 32, "licence-" + "A" * 32, "../" + "a" * 32, "licence-" + "a" * 33],
)
def test_a_document_id_not_issued_by_the_service_is_refused(document_id: str) -> None:
    with pytest.raises(errors.InvalidRequest):
        document_kind(document_id)


def test_a_document_must_be_an_accepted_type_not_empty_and_not_too_large() -> None:
    assert document_problem("application/pdf", 1, 1000) is None
    assert document_problem("image/png", 1000, 1000) is None
    assert "1001 bytes" in str(document_problem("image/jpeg", 1001, 1000))
    assert "empty" in str(document_problem("application/pdf", 0, 1000))
    for content_type in ("text/html", "application/octet-stream", "", None, "application/PDF"):
        assert "not accepted" in str(document_problem(content_type, 10, 1000))


def test_a_documents_bytes_must_bear_out_its_type() -> None:
    assert content_matches("application/pdf", b"%PDF-1.7\n")
    assert content_matches("image/png", b"\x89PNG\r\n\x1a\n\x00")
    assert content_matches("image/jpeg", b"\xff\xd8\xff\xe0")
    assert not content_matches("application/pdf", b"<html>")
    assert not content_matches("image/png", b"%PDF-1.7")
    assert not content_matches("text/html", b"<html>")
    assert set(CONTENT_TYPES) == {"application/pdf", "image/jpeg", "image/png"}
