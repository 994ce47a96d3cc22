"""The reports' stream consumer: a batch of DynamoDB stream records (Lambda's event shape) applied exactly once.

The records come from the streams of the ledger, certificates, contracts and objections tables, delivered by Lambda
in AWS (functions/jobs/streams.py) or by the local poller (devtools/streams.py). Lambda delivers at least once: a failed
batch comes again whole, or split in halves, and a crash may stop a batch half-way. Every change that adds to a
figure is written with its marker in the same transaction (storage/aggregates.py), so whatever is delivered again is
recognised and skipped, and what was not written yet is written.

One batch: decode the changes (those that add nothing need no marker and are dropped), read what they need to know
(municipalities, contracts, programs: BatchGetItem, cached), read the active-contract counts they move, pack them into
transactions of at most 100 items, write. A refused transaction names the changes already counted (dropped) or a
count another consumer moved (read again); the rest is packed again from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import errors
from chalicelib.domain.counting import ActiveContracts, Contribution, contribution
from chalicelib.services.context import Context
from chalicelib.storage import aggregates as store
from chalicelib.storage.counters import Group, cluster, plan
from chalicelib.storage.retry import Backoff
from chalicelib.storage.transactions import MAX_ITEMS

log = logging.getLogger("pfdo.streams")

# Each round either writes a group, drops changes already counted, or meets a count moved by another consumer.
MAX_ROUNDS = 64
# The pause after a round that met a count another consumer moved (the next round reads it again).
MOVED_BACKOFF = Backoff(MAX_ROUNDS)

Commit = Callable[[Group], "store.Refused | None"]


@dataclass(frozen=True)
class Outcome:
    """What one delivery did: changes counted now, changes found counted before (a retried delivery), records that
    change no figure, and the transactions written."""

    applied: int
    already_applied: int
    ignored: int
    transactions: int

    def as_json(self) -> dict[str, int]:
        return {
            "applied": self.applied,
            "already_applied": self.already_applied,
            "ignored": self.ignored,
            "transactions": self.transactions,
        }


def consume(
    ctx: Context,
    records: Sequence[Mapping[str, Any]],
    *,
    commit: Commit = store.commit_group,
    max_items: int = MAX_ITEMS,
) -> Outcome:
    """Applies a batch of stream records exactly once; raises (and the batch is delivered again) when it cannot.

    ``commit`` writes one group (storage.aggregates.commit_group); tests pass one that fails part-way, as a crash.
    """
    decoded = store.decode(records)
    dimensions = store.dimensions(decoded.changes)
    found = [contribution(change, dimensions) for change in decoded.changes]
    pending = cluster([c for c in found if c is not None])
    ignored = decoded.ignored + len(found) - len(pending)
    applied = already = transactions = rounds = 0
    while pending:
        if rounds == MAX_ROUNDS:
            raise errors.ConcurrentUpdate(f"{len(pending)} changes could not be applied; the batch will come again")
        refused = None
        for group in plan(pending, _counts(pending), max_items):
            refused = commit(group)
            if refused is not None:
                break
            transactions += 1
            applied += len(group.contributions)
            pending = pending[len(group.contributions) :]
        if refused is not None:
            before = len(pending)
            pending = [c for c in pending if c.marker not in refused.already_applied]
            already += before - len(pending)
            if refused.moved:
                MOVED_BACKOFF.pause(
                    rounds
                )  # another consumer moved a certificate's count: read it again and pack again
        rounds += 1
    outcome = Outcome(applied, already, ignored, transactions)
    log.info("stream batch applied", extra={"records": len(records), **outcome.as_json()})
    return outcome


def _counts(pending: list[Contribution]) -> dict[ActiveContracts, int]:
    wanted = [c.active.counter for c in pending if c.active is not None]
    return store.active_counts(wanted) if wanted else {}
