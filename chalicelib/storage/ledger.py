"""The ledger's items: the entry mapper, a certificate's history newest first in pages, or all of it for a replay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.domain.ledger import EntryKind, LedgerEntry
from chalicelib.storage.mapping import Mapper, enum_of
from chalicelib.storage.models import LedgerRecord

ENTRIES = Mapper(LedgerEntry, LedgerRecord, convert={"kind": enum_of(EntryKind)})


def entry_of(record: LedgerRecord) -> LedgerEntry:
    """The domain's entry of a stored record."""
    return ENTRIES.to_entity(record)


def page(
    certificate_id: str, limit: int, after: dict[str, Any] | None
) -> tuple[list[LedgerEntry], dict[str, Any] | None]:
    """One Query on the by_posted index, newest first; returns the entries and the key to continue after."""
    result = LedgerRecord.by_posted.query(
        certificate_id, scan_index_forward=False, limit=limit, last_evaluated_key=after, page_size=limit
    )
    entries = [entry_of(record) for record in result]
    return entries, result.last_evaluated_key


def all_entries(certificate_id: str) -> Iterator[LedgerEntry]:
    """Every entry of a certificate (consistent), for reconciliation."""
    for record in LedgerRecord.query(certificate_id, consistent_read=True):
        yield entry_of(record)
