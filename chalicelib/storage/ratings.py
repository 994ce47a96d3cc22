"""Ratings in DynamoDB, in the program's partition of ``program_ratings``: each rating under a time-ordered key
(``rating#<rated_at>#<rating_id>``, listed newest first; a contract id would begin with the certificate's number,
which the provider knows), and a separate marker per contract (``contract#<contract_id>``) that keeps the rule of one
rating per contract. Marker, rating and the program's and provider's sums are one transaction, so the averages always
agree with the ratings and a contract rates once however often it is sent. The guardian and the contract are kept on
the rating for audit and never read back out of this module's pages."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from pynamodb.exceptions import DoesNotExist

from chalicelib.domain import errors
from chalicelib.domain.ids import ProviderId
from chalicelib.domain.program import Rating, RatingSummary
from chalicelib.storage.mapping import Mapper
from chalicelib.storage.models import ProgramRecord, ProviderRecord, RatedContractRecord, RatingRecord
from chalicelib.storage.programs import PROGRAM
from chalicelib.storage.transactions import Transaction, fail_with

RATING_PREFIX = "rating#"
MARKER_PREFIX = "contract#"


def rating_entry(rating: Rating) -> str:
    """The rating's sort key: its instant first (UTC stamps sort as they happened), then its random id."""
    return f"{RATING_PREFIX}{rating.rated_at}#{rating.rating_id}"


def marker_entry(contract_id: str) -> str:
    return f"{MARKER_PREFIX}{contract_id}"


RATINGS = Mapper(Rating, RatingRecord, derived={"entry": rating_entry})


def rate(rating: Rating) -> None:
    """One transaction: the contract's marker (once per contract: ``AlreadyRated``), the rating, and ADD to the
    program's and the provider's ``rating_sum`` / ``rating_count``."""
    tx = Transaction()
    marker = RatedContractRecord(
        program_id=rating.program_id, entry=marker_entry(rating.contract_id), rating_entry=rating_entry(rating)
    )
    tx.put(marker, RatedContractRecord.entry.does_not_exist(), fail_with(errors.AlreadyRated()), rank=0)
    # A random id under an instant: a clash is a bug, never an overwrite.
    tx.put(RATINGS.record(rating), RatingRecord.entry.does_not_exist(), fail_with(errors.ConcurrentUpdate()))
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


def page(program_id: str, limit: int, after_entry: str | None) -> tuple[list[Rating], str | None]:
    """One Query over the program's ratings (not its markers), newest first, from after the rating keyed
    ``after_entry``; that key comes back for the next page."""
    start = None
    if after_entry is not None:
        if not after_entry.startswith(RATING_PREFIX):
            raise errors.InvalidRequest("invalid cursor")
        start = RatingRecord(program_id, after_entry).to_dynamodb_dict()
    result = RatingRecord._get_connection().query(
        program_id,
        RatingRecord.entry.startswith(RATING_PREFIX),
        limit=limit,
        exclusive_start_key=start,
        scan_index_forward=False,
    )
    ratings = [RATINGS.from_image(raw) for raw in result.get("Items", [])]
    last = result.get("LastEvaluatedKey")
    return ratings, None if last is None else RatingRecord.from_raw_data(last).entry


def migrate_legacy(image: dict[str, Any], rating_id: str) -> bool:
    """Copies one item of the old ``ratings`` table (keyed by program and contract) as a rating under its time-ordered
    key plus its contract's marker, in one transaction; the sums already count it. False when the contract's marker
    is there already (migrated before, or rated since): running the migration again changes nothing."""
    old = TypeDeserializer()
    values = {name: old.deserialize(value) for name, value in image.items()}
    rating = Rating(
        program_id=str(values["program_id"]),
        contract_id=str(values["contract_id"]),
        provider_id=ProviderId(str(values["provider_id"])),
        score=int(values["score"]),
        rated_at=str(values["rated_at"]),
        guardian_sub=str(values["guardian_sub"]),
        rating_id=rating_id,
        comment=None if values.get("comment") is None else str(values["comment"]),
    )
    tx = Transaction()
    marker = RatedContractRecord(
        program_id=rating.program_id, entry=marker_entry(rating.contract_id), rating_entry=rating_entry(rating)
    )
    tx.put(marker, RatedContractRecord.entry.does_not_exist(), fail_with(errors.AlreadyRated()), rank=0)
    tx.put(RATINGS.record(rating), RatingRecord.entry.does_not_exist(), fail_with(errors.ConcurrentUpdate()))
    try:
        tx.commit()
    except errors.AlreadyRated:
        return False
    return True


def provider_summary(provider_id: str) -> RatingSummary:
    """The provider's rating: one GetItem of its registry entry (only the two counters are read)."""
    try:
        record = ProviderRecord.get(
            provider_id, attributes_to_get=["rating_sum", "rating_count"], consistent_read=False
        )
    except DoesNotExist:
        raise errors.ProviderNotFound() from None
    return RatingSummary(int(record.rating_sum or 0), int(record.rating_count or 0))
