"""Ratings in DynamoDB: one item per contract (its natural key), added to the program's and the provider's sums in
the same transaction, so the averages always agree with the ratings and a contract rates once however often it is
sent. The guardian is kept on the rating for audit and never read back out of this module's pages."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.domain import errors
from chalicelib.domain.program import Rating, RatingSummary
from chalicelib.storage.mapping import Mapper
from chalicelib.storage.models import ProgramRecord, ProviderRecord, RatingRecord
from chalicelib.storage.programs import PROGRAM
from chalicelib.storage.transactions import Transaction, fail_with

RATINGS = Mapper(Rating, RatingRecord)


def rate(rating: Rating) -> None:
    """One transaction: the rating (once per contract: ``AlreadyRated``) and ADD to the program's and the
    provider's ``rating_sum`` / ``rating_count``."""
    tx = Transaction()
    tx.put(RATINGS.record(rating), RatingRecord.contract_id.does_not_exist(), fail_with(errors.AlreadyRated()))
    tx.update(
        ProgramRecord(program_id=rating.program_id, record=PROGRAM),
        [ProgramRecord.rating_sum.add(rating.score), ProgramRecord.rating_count.add(1)],
        ProgramRecord.program_id.exists(),
        fail_with(errors.ProgramNotFound()),
    )
    tx.update(
        ProviderRecord(provider_id=rating.provider_id),
        [ProviderRecord.rating_sum.add(rating.score), ProviderRecord.rating_count.add(1)],
        ProviderRecord.provider_id.exists(),
        fail_with(errors.ProviderNotFound()),
    )
    tx.commit()


def page(program_id: str, limit: int, after_contract: str | None) -> tuple[list[Rating], str | None]:
    """One Query over the program's ratings, from after the rating of ``after_contract``; the contract to continue
    after comes back (callers must not show it: it would tell whose rating it is)."""
    start = None if after_contract is None else RatingRecord(program_id, after_contract).to_dynamodb_dict()
    result = RatingRecord._get_connection().query(program_id, limit=limit, exclusive_start_key=start)
    ratings = [RATINGS.from_image(raw) for raw in result.get("Items", [])]
    last = result.get("LastEvaluatedKey")
    return ratings, None if last is None else RatingRecord.from_raw_data(last).contract_id


def provider_summary(provider_id: str) -> RatingSummary:
    """The provider's rating: one GetItem of its registry entry (only the two counters are read)."""
    try:
        record = ProviderRecord.get(
            provider_id, attributes_to_get=["rating_sum", "rating_count"], consistent_read=False
        )
    except DoesNotExist:
        raise errors.ProviderNotFound() from None
    return RatingSummary(int(record.rating_sum or 0), int(record.rating_count or 0))
