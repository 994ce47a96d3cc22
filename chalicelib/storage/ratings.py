"""Ratings in DynamoDB: one item per contract (its natural key), added to the program's and the provider's sums in
the same transaction, so the averages always agree with the ratings and a contract rates once however often it is
sent. The guardian is kept on the rating for audit and never read back out of this module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.domain import errors
from chalicelib.domain.program import RatedContract, RatingSummary
from chalicelib.storage.models import ContractRecord, ProgramRecord, ProviderRecord, RatingRecord
from chalicelib.storage.programs import PROGRAM
from chalicelib.storage.transactions import Transaction, fail_with

R = RatingRecord


@dataclass(frozen=True)
class Rating:
    """A rating as shown: no contract, no guardian."""

    score: int
    comment: str | None
    rated_at: str


def contract(contract_id: str) -> RatedContract | None:
    """One consistent GetItem of the contract (None if there is none): only what a rating needs of it."""
    try:
        record = ContractRecord.get(
            contract_id,
            consistent_read=True,
            attributes_to_get=["guardian_sub", "program_id", "provider_id", "accepted_at"],
        )
    except DoesNotExist:
        return None
    return RatedContract(record.guardian_sub, record.program_id, record.provider_id, record.accepted_at)


def rate(
    program_id: str,
    provider_id: str,
    contract_id: str,
    score: int,
    comment: str | None,
    guardian_sub: str,
    rated_at: str,
) -> None:
    """One transaction: the rating (once per contract: ``AlreadyRated``) and ADD to the program's and the
    provider's ``rating_sum`` / ``rating_count``."""
    tx = Transaction()
    tx.put(
        R(
            program_id=program_id,
            contract_id=contract_id,
            provider_id=provider_id,
            score=score,
            comment=comment,
            rated_at=rated_at,
            guardian_sub=guardian_sub,
        ),
        R.contract_id.does_not_exist(),
        fail_with(errors.AlreadyRated()),
    )
    tx.update(
        ProgramRecord(program_id=program_id, record=PROGRAM),
        [ProgramRecord.rating_sum.add(score), ProgramRecord.rating_count.add(1)],
        ProgramRecord.program_id.exists(),
        fail_with(errors.ProgramNotFound()),
    )
    tx.update(
        ProviderRecord(provider_id=provider_id),
        [ProviderRecord.rating_sum.add(score), ProviderRecord.rating_count.add(1)],
        ProviderRecord.provider_id.exists(),
        fail_with(errors.ProviderNotFound()),
    )
    tx.commit()


def page(program_id: str, limit: int, after: dict[str, Any] | None) -> tuple[list[Rating], dict[str, Any] | None]:
    """One Query over the program's ratings. The key to continue after names a contract: callers must not show it."""
    result = R._get_connection().query(program_id, limit=limit, exclusive_start_key=after)
    ratings = []
    for raw in result.get("Items", []):
        record = R.from_raw_data(raw)
        ratings.append(Rating(int(record.score), record.comment, record.rated_at))
    return ratings, result.get("LastEvaluatedKey")


def provider_summary(provider_id: str) -> RatingSummary:
    """The provider's rating: one GetItem of its registry entry (only the two counters are read)."""
    try:
        record = ProviderRecord.get(
            provider_id, attributes_to_get=["rating_sum", "rating_count"], consistent_read=False
        )
    except DoesNotExist:
        raise errors.ProviderNotFound() from None
    return RatingSummary(int(record.rating_sum or 0), int(record.rating_count or 0))
