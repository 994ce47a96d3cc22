"""The aggregates table: decoding stream records, applying counted changes exactly once, and reading the figures.

Exactly once. Each change that adds to a figure carries a marker (domain.counting): the ledger entry's own key, the
objection and its direction, or the table, item and stream position of a certificate or contract write. A group of
changes is one ``TransactWriteItems``: a put of each marker under ``attribute_not_exists`` and the ``ADD`` of the
counters they sum to, so a change is counted together with its marker or not at all. A retried delivery meets its
markers: DynamoDB cancels the transaction and names, in its cancellation reasons, every marker already there; those
changes are dropped and the rest is sent again. Markers expire after ``MARKER_DAYS``, well past the stream's 24-hour
retention (Lambda never delivers a record older than that).

Stream records come as Lambda delivers them (DynamoDB JSON): each image is read by its table's mapper (the model's own
deserialisation), the aggregates' own items by boto3's ``TypeDeserializer``. Where each figure lives is
storage/counters.py.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.domain import errors
from chalicelib.domain.counting import (
    DISPUTED,
    ENTRY_COUNTS,
    IN_USE,
    LIVING,
    ActiveContracts,
    CertificateChanged,
    Change,
    ChargeDimensions,
    ContractChanged,
    Dimensions,
    DisputeChanged,
    EntryCount,
    EntryPosted,
    Figure,
    Population,
)
from chalicelib.domain.ledger import utc_stamp
from chalicelib.domain.reports import GroupBy
from chalicelib.storage.certificates import CERTIFICATES
from chalicelib.storage.contracts import CONTRACTS
from chalicelib.storage.counters import (
    REGISTRY,
    Address,
    Group,
    address_of,
    marker_address,
    parse_municipal_key,
    parse_spending_key,
    spending_prefix,
)
from chalicelib.storage.ledger import ENTRIES
from chalicelib.storage.mapping import Mapper
from chalicelib.storage.models import TABLES, table_name
from chalicelib.storage.objections import OBJECTIONS
from chalicelib.storage.retry import Backoff, retry
from chalicelib.storage.transactions import TransactionThrottled, transaction_connection

MARKER_DAYS = 7
# A transaction of counters cancelled for a busy item is sent again, up to 8 times in all.
AGGREGATES_BACKOFF = Backoff(8)
# Keys a batch read left unprocessed (DynamoDB's throughput) are asked for again, up to 10 times in all.
UNPROCESSED_BACKOFF = Backoff(10)
BATCH_GET_KEYS = 100
# Dimensions never change once written (a certificate's municipality, a contract's program and provider, a program's
# direction), so a warm consumer keeps them; bounded so a long-lived process does not grow without end.
CACHE_LIMIT = 200_000
_STREAM_ARN = re.compile(r":table/(?P<table>[^/]+)/stream/(?P<label>[^/]+)$")
_to_python = TypeDeserializer().deserialize
_to_dynamodb = TypeSerializer().serialize

Json = dict[str, Any]


class _Busy(errors.ConcurrentUpdate):
    """A transaction of the aggregates was cancelled for a busy item: nothing was written; send it again."""


class _Unprocessed(TransactionThrottled):
    """The database is busy: a batch read kept leaving keys unprocessed."""


def _client() -> Any:
    return transaction_connection().client


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item of DynamoDB JSON as Python values (numbers as ``int``: the aggregates hold whole numbers only)."""
    found = {name: _to_python(value) for name, value in item.items()}
    return {name: int(value) if isinstance(value, Decimal) else value for name, value in found.items()}


def _key(address: Address) -> Json:
    return {"scope": _to_dynamodb(address.scope), "key": _to_dynamodb(address.key)}


# --- which records matter --------------------------------------------------------------------------------------------


def _values(table: Mapping[Any, bool], wanted: bool) -> list[str]:
    return sorted(member.value for member, counts in table.items() if counts is wanted)


# Lambda's filter patterns per consumed table (infra/template.py puts them on the event source mappings): the records
# that can change a figure, a superset of what ``contribution`` counts, so the function is not invoked for the many
# writes that change none (a hold, a balance's version). Derived from the counting rules' own tables. The consumer is
# right without them; tests check every counted record passes them. (A certificate's municipality never changes, so a
# move needs no pattern.)
STREAM_FILTERS: dict[str, list[Json]] = {
    "ledger": [
        {
            "eventName": ["INSERT"],
            "dynamodb": {
                "NewImage": {
                    "kind": {
                        "S": [
                            {
                                "anything-but": sorted(
                                    kind.value for kind, counts in ENTRY_COUNTS.items() if counts is EntryCount.NOTHING
                                )
                            }
                        ]
                    }
                }
            },
        }
    ],
    "certificates": [
        {"eventName": ["INSERT", "REMOVE"]},
        {"dynamodb": {"NewImage": {"status": {"S": _values(LIVING, False)}}}},
        {"dynamodb": {"OldImage": {"status": {"S": _values(LIVING, False)}}}},
    ],
    "contracts": [
        {"dynamodb": {"NewImage": {"status": {"S": _values(IN_USE, True)}}}},
        {"dynamodb": {"OldImage": {"status": {"S": _values(IN_USE, True)}}}},
    ],
    "objections": [
        {"dynamodb": {"NewImage": {"status": {"S": _values(DISPUTED, True)}}}},
        {"dynamodb": {"OldImage": {"status": {"S": _values(DISPUTED, True)}}}},
    ],
}


# --- decoding stream records -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    changes: list[Change]
    ignored: int  # records of other tables, or writes that change no figure


def decode(records: Sequence[Mapping[str, Any]]) -> Decoded:
    """The changes in a batch of stream records (Lambda's event shape), in their order, each once."""
    bases = {table_name(base): base for base in TABLES}
    changes: list[Change] = []
    seen: set[str] = set()
    ignored = 0
    for record in records:
        change = _change(record, bases)
        if change is None or change.marker in seen:
            ignored += 1
            continue
        seen.add(change.marker)
        changes.append(change)
    return Decoded(changes, ignored)


def _image(mapper: Mapper[Any, Any], image: Mapping[str, Any] | None) -> Any:
    return None if not image else mapper.from_image(image)


def _change(record: Mapping[str, Any], bases: Mapping[str, str]) -> Change | None:
    match = _STREAM_ARN.search(str(record.get("eventSourceARN", "")))
    if match is None or match["table"] not in bases:
        return None
    data = record["dynamodb"]
    new, old = data.get("NewImage"), data.get("OldImage")
    base = bases[match["table"]]
    # One write of one item: its table's stream, the item's key and its place in the stream.
    position = f"{match['label']}#{data['SequenceNumber']}"
    if base == "ledger":
        return EntryPosted(ENTRIES.from_image(new)) if record.get("eventName") == "INSERT" and new else None
    if base == "certificates":
        before, after = _image(CERTIFICATES, old), _image(CERTIFICATES, new)
        if before is None and after is None:
            return None
        return CertificateChanged(f"{(after or before).certificate_id}#{position}", before, after)
    if base == "contracts":
        before, after = _image(CONTRACTS, old), _image(CONTRACTS, new)
        if before is None and after is None:
            return None
        return ContractChanged(f"{(after or before).contract_id}#{position}", before, after)
    if base == "objections":
        # Only a charge coming under objection or leaving it is a change: its marker is the objection and the
        # direction, which any other write of the objection would repeat.
        before, after = _image(OBJECTIONS, old), _image(OBJECTIONS, new)
        dispute = DisputeChanged(before, after)
        return dispute if (before or after) is not None and dispute.moves else None
    return None


# --- what the changes need to know: municipalities, contracts, programs ----------------------------------------------


@dataclass
class _Cache:
    values: dict[tuple[str, str], Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, table: str, key: str) -> Any:
        with self.lock:
            return self.values.get((table, key))

    def put(self, table: str, found: Mapping[str, Any]) -> None:
        with self.lock:
            if len(self.values) + len(found) > CACHE_LIMIT:
                self.values.clear()
            self.values.update({(table, key): value for key, value in found.items()})


_cache = _Cache()


def dimensions(changes: Iterable[Change]) -> Dimensions:
    """Each certificate's municipality and each charged or disputed contract's provider, program and direction:
    BatchGetItem (consistent) of what the process has not read before."""
    certificate_ids: set[str] = set()
    contract_ids: set[str] = set()
    for change in changes:
        if isinstance(change, EntryPosted):
            if change.counted:
                certificate_ids.add(change.entry.certificate_id)
            if change.needs_contract and change.entry.contract_id:
                contract_ids.add(change.entry.contract_id)
        elif isinstance(change, ContractChanged):
            if change.delta:
                certificate_ids.add(change.contract.certificate_id)
        elif isinstance(change, DisputeChanged):
            certificate_ids.add(change.objection.certificate_id)
            contract_ids.add(change.objection.contract_id)
    return Dimensions(_municipalities(certificate_ids), _contracts(contract_ids))


def _cached(table: str, ids: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    found, missing = {}, []
    for key in sorted(ids):
        value = _cache.get(table, key)
        if value is None:
            missing.append(key)
        else:
            found[key] = value
    return found, missing


def _municipalities(certificate_ids: Iterable[str]) -> dict[str, str]:
    table = table_name("certificates")
    found, missing = _cached(table, certificate_ids)
    keys = [{"certificate_id": _to_dynamodb(i)} for i in missing]
    items = [plain(item) for item in batch_get(table, keys, ["certificate_id", "municipality"])]
    read = {str(item["certificate_id"]): str(item["municipality"]) for item in items}
    _cache.put(table, read)
    return {**found, **read}


def _contracts(contract_ids: Iterable[str]) -> dict[str, ChargeDimensions]:
    table = table_name("contracts")
    found, missing = _cached(table, contract_ids)
    # Projections of a few attributes (the consumer's reads are the hot path): plain values, no entity.
    contracts = [
        plain(item)
        for item in batch_get(
            table,
            [{"contract_id": _to_dynamodb(i)} for i in missing],
            ["contract_id", "program_id", "provider_id", "program_title"],
        )
    ]
    program_ids = {str(c["program_id"]) for c in contracts}
    programs = {
        str(p["program_id"]): p
        for p in map(
            plain,
            batch_get(
                table_name("programs"),
                [{"program_id": _to_dynamodb(i), "record": _to_dynamodb("program")} for i in sorted(program_ids)],
                ["program_id", "direction", "provider_name"],
            ),
        )
    }
    read = {}
    for contract in contracts:
        program = programs.get(str(contract["program_id"]))
        if program is None:
            continue  # reported as missing by Dimensions.contract
        read[str(contract["contract_id"])] = ChargeDimensions(
            provider_id=str(contract["provider_id"]),
            provider_name=str(program.get("provider_name", "")),
            program_id=str(contract["program_id"]),
            program_title=str(contract.get("program_title", "")),
            direction=str(program.get("direction", "")),
        )
    _cache.put(table, read)
    return {**found, **read}


def batch_get(
    table: str, keys: Sequence[Json], attributes: Sequence[str] | None = None, consistent: bool = True
) -> list[Json]:
    """Every item of ``keys`` that exists: BatchGetItem, 100 keys a request, unprocessed keys sent again."""
    items: list[Json] = []
    names = {f"#a{i}": name for i, name in enumerate(attributes or ())}
    for start in range(0, len(keys), BATCH_GET_KEYS):
        request: Json = {"Keys": list(keys[start : start + BATCH_GET_KEYS]), "ConsistentRead": consistent}
        if names:
            request["ProjectionExpression"] = ", ".join(names)
            request["ExpressionAttributeNames"] = names
        pending: Json = {table: request}

        def read(_attempt: int) -> None:
            nonlocal pending
            answer = _client().batch_get_item(RequestItems=pending)
            items.extend(answer.get("Responses", {}).get(table, []))
            pending = answer.get("UnprocessedKeys") or {}
            if pending:
                raise _Unprocessed(f"{table}: DynamoDB kept keys unprocessed; the batch comes again")

        retry(read, UNPROCESSED_BACKOFF, on=_Unprocessed)
    return items


# --- applying a group ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """Nothing of the group was written: some markers were already there (those changes were counted before), and/or
    a certificate's active-contract count was not what it was read as (another consumer moved it)."""

    already_applied: frozenset[str]
    moved: bool


def commit_group(group: Group) -> Refused | None:
    """Writes the group's markers, counters and guarded counts in one ``TransactWriteItems``; ``None`` when written.

    Retries a cancellation for a conflict with another transaction (nothing was written) with jittered backoff.
    Markers expire, and counters are stamped, by the wall clock, not the service's clock: they measure how long the
    stream keeps records and when the figures last moved, whatever day the service believes it is.
    """
    items, roles = _items(group, datetime.now(UTC))

    def send(_attempt: int) -> Refused | None:
        try:
            _client().transact_write_items(TransactItems=items, ClientRequestToken=str(uuid.uuid4()))
            return None
        except ClientError as failure:
            if failure.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in failure.response.get("CancellationReasons", [])]
        failed = [role for role, code in zip(roles, reasons, strict=False) if code == "ConditionalCheckFailed"]
        if failed:
            markers = frozenset(role[1] for role in failed if role[0] == "marker")
            return Refused(markers, any(role[0] == "guard" for role in failed))
        if not any(code in ("TransactionConflict", "ThrottlingError") for code in reasons):
            raise errors.ConcurrentUpdate(f"aggregates transaction cancelled: {reasons}")
        raise _Busy("the aggregates kept conflicting with other transactions")

    return retry(send, AGGREGATES_BACKOFF, on=_Busy)


def _items(group: Group, now: datetime) -> tuple[list[Json], list[tuple[str, str]]]:
    table = table_name("aggregates")
    expires = int(now.timestamp()) + MARKER_DAYS * 86400
    stamp = utc_stamp(now)
    items: list[Json] = []
    roles: list[tuple[str, str]] = []
    for marker in group.markers:
        item = {**_key(marker_address(marker)), "expires_at": _to_dynamodb(expires)}
        items.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(#scope)",
                    "ExpressionAttributeNames": {"#scope": "scope"},
                }
            }
        )
        roles.append(("marker", marker))
    for figure, amounts in group.counters.items():
        address = address_of(figure)
        items.append({"Update": _counter_update(table, address, amounts, group.labels.get(figure, {}), stamp)})
        roles.append(("counter", address.key))
    for counter, guard in group.guards.items():
        address = address_of(counter)
        condition = "#active = :expected"
        if guard.expected == 0:
            condition = f"attribute_not_exists(#active) OR {condition}"
        items.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": _key(address),
                    "UpdateExpression": "SET #active = :value, #updated = :updated",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#active": "active", "#updated": "updated_at"},
                    "ExpressionAttributeValues": {
                        ":value": _to_dynamodb(guard.value),
                        ":expected": _to_dynamodb(guard.expected),
                        ":updated": _to_dynamodb(stamp),
                    },
                }
            }
        )
        roles.append(("guard", address.key))
    return items, roles


def _counter_update(table: str, address: Address, amounts: Counter[str], labels: Mapping[str, str], stamp: str) -> Json:
    names: dict[str, str] = {"#updated": "updated_at"}
    values: dict[str, Any] = {":updated": _to_dynamodb(stamp)}
    adds, sets = [], ["#updated = :updated"]
    for i, (name, amount) in enumerate(sorted(amounts.items())):
        names[f"#c{i}"], values[f":c{i}"] = name, _to_dynamodb(amount)
        adds.append(f"#c{i} :c{i}")
    for i, (name, text) in enumerate(sorted(labels.items())):
        names[f"#l{i}"], values[f":l{i}"] = name, _to_dynamodb(text)
        sets.append(f"#l{i} = :l{i}")
    expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
    return {
        "TableName": table,
        "Key": _key(address),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def active_counts(counters: Iterable[ActiveContracts]) -> dict[ActiveContracts, int]:
    """The active-contract count of each (certificate, period) asked for; absent items count 0."""
    wanted = sorted(set(counters), key=address_of)
    found = [plain(item) for item in batch_get(table_name("aggregates"), [_key(address_of(c)) for c in wanted])]
    counts = {Address(str(i["scope"]), str(i["key"])): int(i.get("active", 0)) for i in found}
    return {counter: counts.get(address_of(counter), 0) for counter in wanted}


# --- reading the figures ---------------------------------------------------------------------------------------------

Figures = dict[str, int | str]


def read(figures: Sequence[Figure]) -> dict[Figure, Figures]:
    """The items of ``figures`` that exist, as plain values: one BatchGetItem (up to 100 figures)."""
    by_address = {address_of(figure): figure for figure in figures}
    found = [plain(item) for item in batch_get(table_name("aggregates"), [_key(a) for a in by_address])]
    return {by_address[Address(str(i["scope"]), str(i["key"]))]: i for i in found}


def query(scope: str, prefix: str) -> Iterator[tuple[str, Figures]]:
    """(sort key, item) of a partition's items whose key starts with ``prefix``: one Query (a page per MB)."""
    start: Json | None = None
    while True:
        request: Json = {
            "TableName": table_name("aggregates"),
            "KeyConditionExpression": "#scope = :scope",
            "ExpressionAttributeNames": {"#scope": "scope"},
            "ExpressionAttributeValues": {":scope": _to_dynamodb(scope)},
            "ConsistentRead": True,
        }
        if prefix:  # (DynamoDB refuses an empty one)
            request["KeyConditionExpression"] += " AND begins_with(#key, :prefix)"
            request["ExpressionAttributeNames"]["#key"] = "key"
            request["ExpressionAttributeValues"][":prefix"] = _to_dynamodb(prefix)
        if start:
            request["ExclusiveStartKey"] = start
        page = _client().query(**request)
        for item in page.get("Items", []):
            values = plain(item)
            yield str(values["key"]), values
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def municipal(period_id: str, municipality: str | None = None) -> dict[str, dict[str, Figures]]:
    """Each municipality's items of a period (or one's) by what they count (``totals``, ``population``): one
    Query."""
    found: dict[str, dict[str, Figures]] = {}
    for key, item in query(period_id, f"m#{municipality}#" if municipality else "m#"):
        parsed = parse_municipal_key(key)
        if parsed:
            found.setdefault(parsed[0], {})[parsed[1]] = item
    return found


def registry() -> dict[str, Figures]:
    """Every municipality's count of living certificates: one Query."""
    return {key.split("#", 1)[1]: item for key, item in query(REGISTRY, "m#")}


def spending(period_id: str, group: GroupBy, municipality: str | None) -> list[tuple[str, str, Figures]]:
    """(value, label, counters) of the period's spending under ``group``, of one municipality or (None) every one."""
    found = []
    for key, item in query(period_id, spending_prefix(group, municipality)):
        parsed = parse_spending_key(key)
        if parsed:
            found.append((parsed[1], str(item.get("label", parsed[1])), item))
    return found


# --- the population, set by operators --------------------------------------------------------------------------------


def put_population(
    figures: Mapping[str, Population], populations: Mapping[str, int], set_by: str, now: datetime
) -> None:
    """The children of each municipality in a period, all written or none (one TransactWriteItems, <= 100)."""
    table = table_name("aggregates")
    items = [
        {
            "Put": {
                "TableName": table,
                "Item": {
                    **_key(address_of(figures[municipality])),
                    "municipality": _to_dynamodb(municipality),
                    "children_population": _to_dynamodb(populations[municipality]),
                    "set_by": _to_dynamodb(set_by),
                    "updated_at": _to_dynamodb(utc_stamp(now)),
                },
            }
        }
        for municipality in sorted(populations)
    ]

    def send(_attempt: int) -> None:
        try:
            _client().transact_write_items(TransactItems=items, ClientRequestToken=str(uuid.uuid4()))
        except ClientError as failure:
            reasons = [r.get("Code") for r in failure.response.get("CancellationReasons", [])]
            if "TransactionConflict" not in reasons:
                raise
            raise _Busy("the population kept conflicting with other writes; retry") from failure

    retry(send, AGGREGATES_BACKOFF, on=_Busy)


# --- the local poller's checkpoints (devtools/streams.py) ------------------------------------------------------------


def checkpoints(stream_arn: str) -> dict[str, str]:
    """Shard id -> the last sequence number applied from it."""
    return {key: str(item["sequence"]) for key, item in query(f"~poller#{stream_arn}", "")}


def save_checkpoint(stream_arn: str, shard_id: str, sequence: str) -> None:
    _client().put_item(
        TableName=table_name("aggregates"),
        Item={**_key(Address(f"~poller#{stream_arn}", shard_id)), "sequence": _to_dynamodb(sequence)},
    )


def forget_cache() -> None:
    """Drops the remembered dimensions (tests that reuse certificate numbers across tables)."""
    with _cache.lock:
        _cache.values.clear()
