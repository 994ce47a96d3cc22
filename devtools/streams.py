"""A local stand-in for Lambda's stream event source: reads the shards of the tables' streams in DynamoDB Local and
feeds each page of records, in Lambda's event shape, to the reports' consumer (services/streams.py).

Like Lambda, it delivers at least once: a page whose consumer fails is read again on the next pass (its iterator is
kept until the page is applied). `make run` starts it in a thread with checkpoints in the aggregates table, so a
restart goes on after the last page applied; tests start it at the streams' ends ("latest") and drain it when they
want the figures.

    StreamPoller(apply).drain()           # everything written so far, applied
    running = start(ctx); ...; running.stop()
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import boto3

from chalicelib.services.context import Context
from chalicelib.storage import aggregates
from chalicelib.storage.models import TABLES, table_name
from chalicelib.storage.tables import stream_view_type

log = logging.getLogger("pfdo.devtools.streams")

# The tables whose streams the reports read (those whose model declares one).
CONSUMED = tuple(base for base, (model, _ttl) in TABLES.items() if stream_view_type(model))
PAGE = 1000  # GetRecords' largest page; Lambda's batch for the deployed consumer (infra/template.py)
Start = Literal["trim_horizon", "latest"]
Apply = Callable[[list[dict[str, Any]]], object]


def streams_client() -> Any:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB_STREAMS") or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    return boto3.client("dynamodbstreams", endpoint_url=endpoint)


def as_lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it: with ``eventSourceARN``, the creation time in epoch seconds."""
    data = dict(record["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        data["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": data, "eventSourceARN": stream_arn}


@dataclass
class _Shard:
    stream_arn: str
    shard_id: str
    last_sequence: str | None = None


@dataclass
class StreamPoller:
    """Reads every shard of the consumed tables' streams; ``apply`` gets each page (at most ``page`` records).

    ``start``: where a shard is read from when the poller first meets it: its beginning ("trim_horizon"), or, for
    the shards there when the poller is made, after what they hold then ("latest"). ``checkpoint``: remember the
    last sequence number applied per shard in the aggregates table and go on from it next time.

    Each pass takes a new iterator after the last record applied (or at the shard's beginning): DynamoDB Local
    numbers records across all its streams, and an iterator taken on a shard with no record yet points at a number
    that never comes (reading it fails as trimmed), so no iterator is kept from an empty read.
    """

    apply: Apply
    tables: Sequence[str] = CONSUMED
    start: Start = "trim_horizon"
    checkpoint: bool = False
    page: int = PAGE
    client: Any = field(default_factory=streams_client)
    _shards: dict[tuple[str, str], _Shard] = field(default_factory=dict)
    _done: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._discover()
        if self.start == "latest":
            for shard in self._shards.values():
                self._read(shard, skip=True)

    def _stream_arns(self) -> list[str]:
        ddb = boto3.client("dynamodb", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"))
        arns = []
        for base in self.tables:
            arn = ddb.describe_table(TableName=table_name(base))["Table"].get("LatestStreamArn")
            if arn:
                arns.append(str(arn))
        return arns

    def _discover(self) -> None:
        for arn in self._stream_arns():
            saved = aggregates.checkpoints(arn) if self.checkpoint else {}
            for shard_id in self._shard_ids(arn):
                if (arn, shard_id) not in self._shards and (arn, shard_id) not in self._done:
                    self._shards[(arn, shard_id)] = _Shard(arn, shard_id, saved.get(shard_id))

    def _shard_ids(self, arn: str) -> Iterable[str]:
        start: str | None = None
        while True:
            extra = {"ExclusiveStartShardId": start} if start else {}
            description = self.client.describe_stream(StreamArn=arn, **extra)["StreamDescription"]
            for shard in description.get("Shards", []):
                yield str(shard["ShardId"])
            start = description.get("LastEvaluatedShardId")
            if not start:
                return

    def _iterator(self, shard: _Shard) -> str | None:
        position = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_sequence}
            if shard.last_sequence
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        found = self.client.get_shard_iterator(StreamArn=shard.stream_arn, ShardId=shard.shard_id, **position)
        return found.get("ShardIterator")

    def _read(self, shard: _Shard, skip: bool = False) -> tuple[int, bool]:
        """Reads the shard up to its end as written now, applying each page (or skipping it); returns the records
        and whether the shard is closed and read to its end."""
        iterator = self._iterator(shard)
        applied = 0
        while iterator is not None:
            page = self.client.get_records(ShardIterator=iterator, Limit=self.page)
            records = [as_lambda_record(r, shard.stream_arn) for r in page.get("Records", [])]
            iterator = page.get("NextShardIterator")
            if not records:
                break
            if not skip:
                self.apply(records)  # raises: nothing moves, the page comes again on the next pass
                applied += len(records)
            shard.last_sequence = str(records[-1]["dynamodb"]["SequenceNumber"])
            if self.checkpoint:
                aggregates.save_checkpoint(shard.stream_arn, shard.shard_id, shard.last_sequence)
        return applied, iterator is None

    def poll(self) -> int:
        """One pass: every shard read up to its end (as written now), page by page; returns the records applied."""
        self._discover()
        applied = 0
        for key, shard in list(self._shards.items()):
            count, closed = self._read(shard)
            applied += count
            if closed:
                self._done.add(key)
                del self._shards[key]
        return applied

    def drain(self) -> int:
        """Passes until one finds nothing new; returns the records applied."""
        total = 0
        while applied := self.poll():
            total += applied
        return total


@dataclass
class Running:
    """The poller's thread; ``stop`` ends it after its current pass."""

    thread: threading.Thread
    stopping: threading.Event

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.thread.join(timeout)


def start(ctx: Context, say: Callable[[str], None] = print, interval: float = 0.5) -> Running:
    """Polls in a daemon thread every ``interval`` seconds, applying with the consumer, checkpointing each page."""
    from chalicelib.services.streams import consume

    poller = StreamPoller(lambda records: consume(ctx, records), checkpoint=True)
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            try:
                poller.poll()
            except Exception as failure:
                say(f"reports' stream consumer failed, retrying: {failure!r}")
                stopping.wait(5 * interval)
            stopping.wait(interval)

    thread = threading.Thread(target=loop, name="stream-poller", daemon=True)
    thread.start()
    return Running(thread, stopping)
