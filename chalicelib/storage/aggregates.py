"""The aggregates table: decoding stream records, applying counted changes exactly once, and reading the figures.

Exactly once. Each change that adds to a figure carries a marker (domain.reports): the ledger entry's own key, the
objection and its direction, or the table, item and stream position of a certificate or contract write. A group of
changes is one ``TransactWriteItems``: a put of each marker under ``attribute_not_exists`` and the ``ADD`` of the
counters they sum to, so a change is counted together with its marker or not at all. A retried delivery meets its
markers: DynamoDB cancels the transaction and names, in its cancellation reasons, every marker already there; those
changes are dropped and the rest is sent again. Markers expire after ``MARKER_DAYS``, well past the stream's 24-hour
retention (Lambda never delivers a record older than that).

Records are read below the models (raw DynamoDB JSON), as Lambda delivers them.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain import errors
from chalicelib.domain.reports import (
    ACTIVE,
    CLOSED,
    OPEN_OBJECTION,
    Address,
    CertificateChanged,
    CertificateState,
    Change,
    ChargeDimensions,
    ContractChanged,
    Dimensions,
    DisputeChanged,
    Group,
    LedgerPosted,
    marker_address,
)
from chalicelib.storage.models import TABLES, QuotaRecord, table_name
from chalicelib.storage.money import utc_stamp
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

Json = dict[str, Any]


class _Busy(errors.ConcurrentUpdate):
    """A transaction of the aggregates was cancelled for a busy item: nothing was written; send it again."""


class _Unprocessed(TransactionThrottled):
    """The database is busy: a batch read kept leaving keys unprocessed."""


def _client() -> Any:
    return transaction_connection().client


def _s(value: str) -> Json:
    return {"S": value}


def _n(value: int) -> Json:
    return {"N": str(value)}


def _string(image: Mapping[str, Any] | None, name: str) -> str | None:
    if not image or name not in image:
        return None
    value = image[name]
    return str(value["S"]) if "S" in value else None


def _number(image: Mapping[str, Any] | None, name: str) -> int | None:
    if not image or name not in image or "N" not in image[name]:
        return None
    return int(image[name]["N"])


def _plain(item: Mapping[str, Any]) -> dict[str, int | str]:
    """An item's numbers and strings as Python values (the aggregates hold nothing else)."""
    found: dict[str, int | str] = {}
    for name, value in item.items():
        if "N" in value:
            found[name] = int(value["N"])
        elif "S" in value:
            found[name] = str(value["S"])
    return found


# --- which records matter --------------------------------------------------------------------------------------------

# Lambda's filter patterns per consumed table (infra/template.py puts them on the event source mappings): the records
# that can change a figure, a superset of what ``decode`` keeps, so the function is not invoked for the many writes
# that change none (a hold, a balance's version). The consumer is right without them; tests check every counted
# record passes them. (A certificate's municipality never changes, so a move needs no pattern.)
STREAM_FILTERS: dict[str, list[Json]] = {
    "ledger": [
        {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": [{"anything-but": ["hold", "release"]}]}}}}
    ],
    "certificates": [
        {"eventName": ["INSERT", "REMOVE"]},
        {"dynamodb": {"NewImage": {"status": {"S": [CLOSED]}}}},
        {"dynamodb": {"OldImage": {"status": {"S": [CLOSED]}}}},
    ],
    "contracts": [
        {"dynamodb": {"NewImage": {"status": {"S": [ACTIVE]}}}},
        {"dynamodb": {"OldImage": {"status": {"S": [ACTIVE]}}}},
    ],
    "objections": [
        {"dynamodb": {"NewImage": {"status": {"S": [OPEN_OBJECTION]}}}},
        {"dynamodb": {"OldImage": {"status": {"S": [OPEN_OBJECTION]}}}},
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
        return _ledger(new) if record.get("eventName") == "INSERT" else None
    if base == "certificates":
        return _certificate(old, new, position)
    if base == "contracts":
        return _contract(old, new, position)
    if base == "objections":
        return _objection(old, new)
    return None


def _ledger(image: Mapping[str, Any] | None) -> LedgerPosted | None:
    if not image:
        return None
    return LedgerPosted(
        certificate_id=_string(image, "certificate_id") or "",
        entry_key=_string(image, "entry_key") or "",
        kind=_string(image, "kind") or "",
        period_id=_string(image, "period_id") or "",
        amount=_number(image, "amount") or 0,
        contract_id=_string(image, "contract_id"),
        month=_string(image, "month"),
    )


def _certificate_state(image: Mapping[str, Any] | None) -> CertificateState | None:
    if not image:
        return None
    return CertificateState(_string(image, "municipality") or "", _string(image, "status") or "")


def _certificate(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, position: str) -> Change | None:
    certificate_id = _string(new or old, "certificate_id")
    if certificate_id is None:
        return None
    return CertificateChanged(
        f"{certificate_id}#{position}", certificate_id, _certificate_state(old), _certificate_state(new)
    )


def _contract(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, position: str) -> Change | None:
    image = new or old
    contract_id = _string(image, "contract_id")
    if contract_id is None:
        return None
    was_active = _string(old, "status") == ACTIVE
    is_active = _string(new, "status") == ACTIVE
    if was_active == is_active:
        return None  # a charge, or a move that does not touch the active set
    return ContractChanged(
        f"{contract_id}#{position}",
        contract_id,
        _string(image, "certificate_id") or "",
        _string(image, "period_id") or "",
        was_active,
        is_active,
    )


def _objection(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Change | None:
    was_open = _string(old, "status") == OPEN_OBJECTION
    is_open = _string(new, "status") == OPEN_OBJECTION
    image = new or old
    if was_open == is_open or image is None:
        return None
    return DisputeChanged(
        objection_id=_string(image, "objection_id") or "",
        contract_id=_string(image, "contract_id") or "",
        certificate_id=_string(image, "certificate_id") or "",
        period_id=_string(image, "period_id") or "",
        month=_string(image, "month") or "",
        amount=_number(image, "amount") or 0,
        opened=is_open,
    )


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
        if isinstance(change, LedgerPosted):
            if change.counted:
                certificate_ids.add(change.certificate_id)
            if change.needs_contract and change.contract_id:
                contract_ids.add(change.contract_id)
        elif isinstance(change, ContractChanged):
            certificate_ids.add(change.certificate_id)
        elif isinstance(change, DisputeChanged):
            certificate_ids.add(change.certificate_id)
            contract_ids.add(change.contract_id)
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
    keys = [{"certificate_id": _s(i)} for i in missing]
    read = {
        str(_string(item, "certificate_id")): str(_string(item, "municipality"))
        for item in batch_get(table, keys, ["certificate_id", "municipality"])
    }
    _cache.put(table, read)
    return {**found, **read}


def _contracts(contract_ids: Iterable[str]) -> dict[str, ChargeDimensions]:
    table = table_name("contracts")
    found, missing = _cached(table, contract_ids)
    contracts = batch_get(
        table,
        [{"contract_id": _s(i)} for i in missing],
        ["contract_id", "program_id", "provider_id", "program_title"],
    )
    program_ids = {str(_string(c, "program_id")) for c in contracts}
    programs = {
        str(_string(p, "program_id")): p
        for p in batch_get(
            table_name("programs"),
            [{"program_id": _s(i), "record": _s("program")} for i in sorted(program_ids)],
            ["program_id", "direction", "provider_name"],
        )
    }
    read = {}
    for contract in contracts:
        program = programs.get(str(_string(contract, "program_id")))
        if program is None:
            continue  # reported as missing by Dimensions.contract
        read[str(_string(contract, "contract_id"))] = ChargeDimensions(
            provider_id=_string(contract, "provider_id") or "",
            provider_name=_string(program, "provider_name") or "",
            program_id=_string(contract, "program_id") or "",
            program_title=_string(contract, "program_title") or "",
            direction=_string(program, "direction") or "",
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
        address = marker_address(marker)
        items.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": {"scope": _s(address.scope), "key": _s(address.key), "expires_at": _n(expires)},
                    "ConditionExpression": "attribute_not_exists(#scope)",
                    "ExpressionAttributeNames": {"#scope": "scope"},
                }
            }
        )
        roles.append(("marker", marker))
    for address, amounts in group.counters.items():
        items.append({"Update": _counter_update(table, address, amounts, group.labels.get(address, {}), stamp)})
        roles.append(("counter", address.key))
    for address, guard in group.guards.items():
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
                        ":value": _n(guard.value),
                        ":expected": _n(guard.expected),
                        ":updated": _s(stamp),
                    },
                }
            }
        )
        roles.append(("guard", address.key))
    return items, roles


def _key(address: Address) -> Json:
    return {"scope": _s(address.scope), "key": _s(address.key)}


def _counter_update(table: str, address: Address, amounts: Counter[str], labels: Mapping[str, str], stamp: str) -> Json:
    names: dict[str, str] = {"#updated": "updated_at"}
    values: dict[str, Json] = {":updated": _s(stamp)}
    adds, sets = [], ["#updated = :updated"]
    for i, (name, amount) in enumerate(sorted(amounts.items())):
        names[f"#c{i}"], values[f":c{i}"] = name, _n(amount)
        adds.append(f"#c{i} :c{i}")
    for i, (name, text) in enumerate(sorted(labels.items())):
        names[f"#l{i}"], values[f":l{i}"] = name, _s(text)
        sets.append(f"#l{i} = :l{i}")
    expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
    return {
        "TableName": table,
        "Key": _key(address),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def active_counts(addresses: Iterable[Address]) -> dict[Address, int]:
    """The active-contract count of each (certificate, period) asked for; absent items count 0."""
    wanted = sorted(set(addresses))
    found = batch_get(table_name("aggregates"), [_key(a) for a in wanted], ["scope", "key", "active"])
    counts = {Address(str(_string(i, "scope")), str(_string(i, "key"))): _number(i, "active") or 0 for i in found}
    return {address: counts.get(address, 0) for address in wanted}


# --- reading the figures ---------------------------------------------------------------------------------------------


def read(addresses: Sequence[Address]) -> dict[Address, dict[str, int | str]]:
    """The items at ``addresses`` that exist, as plain values: one BatchGetItem (up to 100 addresses)."""
    found = batch_get(table_name("aggregates"), [_key(a) for a in addresses])
    return {Address(str(_string(i, "scope")), str(_string(i, "key"))): _plain(i) for i in found}


def query(scope: str, prefix: str) -> Iterator[tuple[str, dict[str, int | str]]]:
    """(sort key, item) of a partition's items whose key starts with ``prefix``: one Query (a page per MB)."""
    start: Json | None = None
    while True:
        request: Json = {
            "TableName": table_name("aggregates"),
            "KeyConditionExpression": "#scope = :scope",
            "ExpressionAttributeNames": {"#scope": "scope"},
            "ExpressionAttributeValues": {":scope": _s(scope)},
            "ConsistentRead": True,
        }
        if prefix:  # (DynamoDB refuses an empty one)
            request["KeyConditionExpression"] += " AND begins_with(#key, :prefix)"
            request["ExpressionAttributeNames"]["#key"] = "key"
            request["ExpressionAttributeValues"][":prefix"] = _s(prefix)
        if start:
            request["ExclusiveStartKey"] = start
        page = _client().query(**request)
        for item in page.get("Items", []):
            yield str(_string(item, "key")), _plain(item)
        start = page.get("LastEvaluatedKey")
        if not start:
            return


@dataclass(frozen=True)
class QuotaUse:
    municipality: str
    quota: int
    funded: int
    remaining: int


def quotas(period_id: str, municipality: str | None) -> list[QuotaUse]:
    """The period's quota items (I7: the quota's own counters, written with each funding): one GetItem for a
    municipality, one Query over the period's quota items for the region."""
    if municipality is not None:
        try:
            records = [QuotaRecord.get(period_id, f"quota#{municipality}", consistent_read=True)]
        except QuotaRecord.DoesNotExist:
            records = []
    else:
        records = list(QuotaRecord.query(period_id, QuotaRecord.record.startswith("quota#"), consistent_read=True))
    return [QuotaUse(r.municipality, int(r.quota), int(r.funded or 0), int(r.remaining)) for r in records]


# --- the population, set by operators --------------------------------------------------------------------------------


def put_population(
    addresses: Mapping[str, Address], populations: Mapping[str, int], set_by: str, now: datetime
) -> None:
    """The children of each municipality in a period, all written or none (one TransactWriteItems, <= 100)."""
    table = table_name("aggregates")
    items = [
        {
            "Put": {
                "TableName": table,
                "Item": {
                    **_key(addresses[municipality]),
                    "municipality": _s(municipality),
                    "children_population": _n(populations[municipality]),
                    "set_by": _s(set_by),
                    "updated_at": _s(utc_stamp(now)),
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
        Item={"scope": _s(f"~poller#{stream_arn}"), "key": _s(shard_id), "sequence": _s(sequence)},
    )


def forget_cache() -> None:
    """Drops the remembered dimensions (tests that reuse certificate numbers across tables)."""
    with _cache.lock:
        _cache.values.clear()
