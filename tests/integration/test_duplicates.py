"""Duplicate children against DynamoDB Local: one living certificate per child in the region, however close two
registrations come; an operator's merge closes the duplicate and moves its money with a ledger entry on each side
(I2, I3, I4, I7)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from threading import Barrier

import pytest

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.certificate import CertificateStatus, issue_certificate, new_certificate_number
from chalicelib.domain.duplicates import child_identity
from chalicelib.domain.ledger import EntryKind, transfer_in_key, transfer_out_key
from chalicelib.domain.period import Period
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates, contracts, duplicates, periods
from chalicelib.services.context import Context
from chalicelib.storage import certificates as certificate_store
from chalicelib.storage import ledger as ledger_store
from chalicelib.storage.models import CertificateRecord, IdentityRecord, QuotaRecord
from tests.factories import approved_provider, program
from tests.helpers import table_contents
from tests.integration.test_certificates import ELIZOVO_OPERATOR, MILKOVO_OPERATOR, PARENT, REGION, at

MOTHER = Principal("parent-mother", Role.PARENT)
FATHER = Principal("parent-father", Role.PARENT)
BIRTH = date(2016, 4, 12)
NOMINAL = 1_200_000


@pytest.fixture
def year(ctx: Context, clock: SettableClock) -> Period:
    """Period 2027 with quotas in Elizovo and Milkovo, running on 10 March."""
    quotas = {"elizovo": 5, "milkovo": 5}
    period = Period("2027", date(2027, 1, 1), date(2027, 12, 31), NOMINAL, quotas, "Asia/Kamchatka")
    periods.open_period(ctx, REGION, period)
    at(clock, date(2027, 3, 10))
    return period


def quota_used(municipality: str) -> int:
    return int(QuotaRecord.get("2027", f"quota#{municipality}", consistent_read=True).funded)


def test_registering_a_child_again_is_a_conflict_naming_only_the_municipality(ctx: Context) -> None:
    certificates.register_child(ctx, MOTHER, "Иванова Алёна Сергеевна", BIRTH, "elizovo")
    before = table_contents()
    # Another family, another spelling of the same name: case, «ё», spaces.
    with pytest.raises(errors.DuplicateChild) as refused:
        certificates.register_child(ctx, FATHER, "  ИВАНОВА  алена   сергеевна ", BIRTH, "milkovo")
    assert refused.value.code == "duplicate_child" and refused.value.status == 409
    assert refused.value.municipality == "elizovo"
    assert "Иванова" not in refused.value.message and MOTHER.sub not in refused.value.message
    assert table_contents() == before
    # Another child: a different birth date, or a different name.
    certificates.register_child(ctx, FATHER, "Иванова Алёна Сергеевна", date(2016, 4, 13), "elizovo")
    certificates.register_child(ctx, FATHER, "Иванова Алина Сергеевна", BIRTH, "elizovo")


def test_the_identity_item_holds_a_digest_not_the_childs_name(ctx: Context) -> None:
    certificate = certificates.register_child(ctx, MOTHER, "Иванова Алёна", BIRTH, "elizovo")
    (identity,) = list(IdentityRecord.scan())
    assert identity.identity == child_identity(ctx.settings.region_code, "иванова алена", BIRTH)
    assert identity.certificate_id == certificate.certificate_id and identity.municipality == "elizovo"
    assert "Иванова" not in str(identity.attribute_values) and "2016" not in str(identity.attribute_values)


def test_two_parents_registering_one_child_at_once_make_one_certificate(ctx: Context) -> None:
    callers = 6
    start = Barrier(callers)

    def register(n: int) -> str:
        start.wait()
        try:
            parent = Principal(f"parent-{n}", Role.PARENT)
            return certificates.register_child(ctx, parent, "Петров Пётр", BIRTH, "elizovo").certificate_id
        except errors.DuplicateChild:
            return "duplicate"

    with ThreadPoolExecutor(callers) as pool:
        outcomes = list(pool.map(register, range(callers)))
    issued = [o for o in outcomes if o != "duplicate"]
    assert len(issued) == 1
    assert [r.certificate_id for r in CertificateRecord.scan()] == issued
    assert [r.certificate_id for r in IdentityRecord.scan()] == issued


def test_a_closed_certificate_frees_the_childs_identity(ctx: Context) -> None:
    first = certificates.register_child(ctx, MOTHER, "Сидоров Иван", BIRTH, "elizovo")
    C = CertificateRecord
    C(certificate_id=first.certificate_id).update(actions=[C.status.set(CertificateStatus.CLOSED.value)])
    second = certificates.register_child(ctx, FATHER, "Сидоров Иван", BIRTH, "milkovo")
    assert second.certificate_id != first.certificate_id
    assert IdentityRecord.get(child_identity(ctx.settings.region_code, "Сидоров Иван", BIRTH)).municipality == "milkovo"


def two_spellings(ctx: Context) -> tuple[str, str]:
    """One child registered twice under spellings that normalise apart («Мария» and «Марья»), both funded."""
    survivor = certificates.register_child(ctx, MOTHER, "Кузнецова Мария", BIRTH, "elizovo").certificate_id
    duplicate = certificates.register_child(ctx, FATHER, "Кузнецова Марья", BIRTH, "milkovo").certificate_id
    certificates.fund(ctx, MOTHER, survivor)
    certificates.fund(ctx, FATHER, duplicate)
    return duplicate, survivor


def test_a_merge_moves_the_money_with_an_entry_on_each_side_and_closes_the_duplicate(
    ctx: Context, year: Period
) -> None:
    duplicate_id, survivor_id = two_spellings(ctx)
    dup_before = certificates.view(ctx, FATHER, duplicate_id).balance
    survivor_before = certificates.view(ctx, MOTHER, survivor_id).balance
    assert (quota_used("elizovo"), quota_used("milkovo")) == (1, 1)

    merged = duplicates.merge(ctx, REGION, duplicate_id, survivor_id)

    assert merged.moved == dup_before.available > 0
    assert merged.duplicate.status is CertificateStatus.CLOSED and merged.duplicate.merged_into == survivor_id
    assert merged.duplicate.balance.available == 0 and merged.duplicate.balance.conserved
    after = merged.survivor.balance
    assert after.available == survivor_before.available + dup_before.available
    assert after.credited == survivor_before.credited + dup_before.available and after.conserved
    # I2 over both: the region's money is where it was, only on another certificate.
    total_before = dup_before.credited + survivor_before.credited
    assert merged.duplicate.balance.credited + after.credited == total_before
    out = {e.entry_key: e for e in ledger_store.all_entries(duplicate_id)}[transfer_out_key(survivor_id, "2027")]
    into = {e.entry_key: e for e in ledger_store.all_entries(survivor_id)}[transfer_in_key(duplicate_id, "2027")]
    assert (out.kind, out.amount, into.kind, into.amount) == (
        EntryKind.TRANSFER_OUT,
        merged.moved,
        EntryKind.TRANSFER_IN,
        merged.moved,
    )
    assert certificates.reconcile(duplicate_id).consistent and certificates.reconcile(survivor_id).consistent  # I3
    assert (quota_used("elizovo"), quota_used("milkovo")) == (1, 0)  # the duplicate's slot is free again (I7)
    # Either spelling now finds the survivor.
    for name in ("Кузнецова Мария", "Кузнецова Марья"):
        with pytest.raises(errors.DuplicateChild) as refused:
            certificates.register_child(ctx, PARENT, name, BIRTH, "milkovo")
        assert refused.value.municipality == "elizovo"
    # Merging again changes nothing and answers the same.
    before = table_contents()
    assert duplicates.merge(ctx, REGION, duplicate_id, survivor_id).survivor.balance == after
    assert table_contents() == before
    with pytest.raises(errors.CertificateClosed):  # a closed certificate moves nothing
        certificates.fund(ctx, FATHER, duplicate_id)


def test_a_merge_is_refused_while_the_duplicate_has_an_open_contract_and_writes_nothing(
    ctx: Context, year: Period
) -> None:
    approved_provider()
    duplicate_id, survivor_id = two_spellings(ctx)
    contracts.enrol(ctx, FATHER, duplicate_id, program(year, price=0, status="published"), "k-1")
    before = table_contents()
    with pytest.raises(errors.MergeRefused):
        duplicates.merge(ctx, REGION, duplicate_id, survivor_id)
    assert table_contents() == before


def test_only_an_operator_of_both_municipalities_merges(ctx: Context, year: Period) -> None:
    duplicate_id, survivor_id = two_spellings(ctx)
    before = table_contents()
    for who in (ELIZOVO_OPERATOR, MILKOVO_OPERATOR, MOTHER):
        with pytest.raises(errors.Forbidden):
            duplicates.merge(ctx, who, duplicate_id, survivor_id)
    with pytest.raises(errors.MergeRefused):
        duplicates.merge(ctx, REGION, survivor_id, survivor_id)
    assert table_contents() == before


def test_money_is_never_merged_into_an_accounting_certificate(ctx: Context, year: Period) -> None:
    funded = certificates.register_child(ctx, MOTHER, "Орлов Павел", BIRTH, "elizovo").certificate_id
    accounting = certificates.register_child(ctx, FATHER, "Орлов Паша", BIRTH, "elizovo").certificate_id
    certificates.fund(ctx, MOTHER, funded)
    before = table_contents()
    with pytest.raises(errors.MergeRefused):
        duplicates.merge(ctx, ELIZOVO_OPERATOR, funded, accounting)
    assert table_contents() == before
    # The other way round: the accounting duplicate closes, nothing moves.
    merged = duplicates.merge(ctx, ELIZOVO_OPERATOR, accounting, funded)
    assert merged.moved == 0 and merged.duplicate.status is CertificateStatus.CLOSED
    assert list(ledger_store.all_entries(accounting)) == []


def test_the_backfill_gives_older_certificates_their_identity_and_reports_duplicates(ctx: Context) -> None:
    # Certificates issued before identities existed: written without their identity item.
    older = [
        certificate_store.issue(
            issue_certificate(
                new_certificate_number(), sub, "elizovo", "Смирнова Ольга", BIRTH, "2026-01-01T00:00:00Z"
            ),
            f"legacy-{sub}",
        )
        for sub in (MOTHER.sub, FATHER.sub)
    ]
    for record in IdentityRecord.scan():
        record.delete()
    report = duplicates.backfill_identities(ctx)
    assert report.claimed == 1
    assert len(report.duplicates) == 1
    (duplicate, holder) = report.duplicates[0]
    assert {duplicate, holder} == {c.certificate_id for c in older}
    assert duplicates.backfill_identities(ctx).claimed == 1  # again: the holder still holds it, nothing new
    with pytest.raises(errors.DuplicateChild):
        certificates.register_child(ctx, PARENT, "Смирнова Ольга", BIRTH, "elizovo")
