"""What each deployed function touches: its tables (actions, and the indexes it queries) and other AWS resources.

The one place the IAM policies are rendered from (infra/template.py). Each building block below names the storage
code that needs it; tests/infra/test_access_in_use.py runs the functions against DynamoDB Local, records every
request they send, and checks that each one is allowed here — so a new call in the code fails a test rather than
an invocation in AWS.

IAM has no action for a transaction as a whole: ``TransactWriteItems`` is authorised item by item (``PutItem``,
``UpdateItem``, ``DeleteItem``, ``ConditionCheckItem``) and ``TransactGetItems`` as ``GetItem``. A ``Query`` on an
index needs the index's ARN; a ``Query`` on the table itself needs only the table's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.storage.models import TABLES

GET, PUT, UPDATE, DELETE = "GetItem", "PutItem", "UpdateItem", "DeleteItem"
CHECK, QUERY, SCAN = "ConditionCheckItem", "Query", "Scan"
BATCH_GET = "BatchGetItem"  # its own IAM action, unlike TransactGetItems (authorised as GetItem per item)
ACTIONS = frozenset({GET, PUT, UPDATE, DELETE, CHECK, QUERY, SCAN, BATCH_GET})


@dataclass(frozen=True)
class TableAccess:
    """Actions on one table, and the indexes queried (``Query`` on ``table/index/NAME``)."""

    actions: frozenset[str] = frozenset()
    indexes: frozenset[str] = frozenset()

    def __or__(self, other: TableAccess) -> TableAccess:
        return TableAccess(self.actions | other.actions, self.indexes | other.indexes)


Access = Mapping[str, TableAccess]


def on(*actions: str, indexes: tuple[str, ...] = ()) -> TableAccess:
    unknown = set(actions) - ACTIONS
    if unknown:
        raise ValueError(f"unknown DynamoDB actions {sorted(unknown)}")
    return TableAccess(frozenset(actions), frozenset(indexes))


def combine(*blocks: Access) -> dict[str, TableAccess]:
    merged: dict[str, TableAccess] = {}
    for block in blocks:
        for table, access in block.items():
            merged[table] = merged.get(table, TableAccess()) | access
    return merged


# --- building blocks, each named after the code that needs it --------------------------------------------------------

# services.context.PeriodCalendar -> storage.periods.region_periods: the region's periods, one Query on by_region.
CALENDAR: Access = {"periods": on(QUERY, indexes=("by_region",))}

# storage.periods: get_period, segment_state (GetItem), period_state (Query over the period's partition).
PERIOD_STATE: Access = {"periods": on(GET, QUERY)}

# services.rollover.rollover_certificate -> storage.movements.commit_rollovers: read the certificate, then one
# transaction: the certificate, its ledger entries, the contracts it ends at the period end, the quota slot and the
# progress counter (both items of the periods table).
ROLLOVER: Access = {
    "certificates": on(GET, UPDATE),
    "ledger": on(PUT),
    "contracts": on(UPDATE),
    "periods": on(UPDATE),
}

# services.rollover.run_topup / run_due_topup: the parallel Scan of certificates and the checkpoint of each segment.
TOPUP_JOB: Access = combine(
    CALENDAR,
    PERIOD_STATE,
    ROLLOVER,
    {"certificates": on(SCAN), "periods": on(UPDATE)},
)

# storage.periods.open_period: the period, its quotas and its calendar months in one transaction.
OPEN_PERIOD: Access = combine(CALENDAR, PERIOD_STATE, {"periods": on(PUT)})

# storage.contracts.commit_end: the contract, the child's seat marker (deleted), the program's seat count, and the
# release of the hold (certificate + ledger entry); services.contracts._end reads the contract again on a conflict.
END_CONTRACT: Access = {
    "contracts": on(GET, UPDATE),
    "programs": on(DELETE, UPDATE),
    "certificates": on(UPDATE),
    "ledger": on(PUT),
}

# storage.certificates.freeze / unfreeze, after reading the certificate (services.certificates._operated).
FREEZE: Access = {"certificates": on(GET, UPDATE)}

# storage.providers.move (a decision, a suspension or a reinstatement), after reading the provider.
PROVIDER_DECISION: Access = {"providers": on(GET, UPDATE)}

# services.certificates.reconcile: the certificate and its whole ledger (a Query on the table's partition).
RECONCILE: Access = {"certificates": on(GET), "ledger": on(QUERY)}

# services.reports: the counters (storage.aggregates.read: BatchGetItem; query: Query on a partition), the children
# population (PutItem, in one transaction), the quota items of a period (storage.periods.quotas: GetItem, Query).
REPORTS: Access = {"aggregates": on(BATCH_GET, QUERY, PUT), "periods": on(GET, QUERY)}

# Every HTTP route (functions/*.py through functions/edge/http.py), by table.
HTTP: Access = combine(
    CALENDAR,
    PERIOD_STATE,
    ROLLOVER,
    OPEN_PERIOD,
    END_CONTRACT,
    FREEZE,
    PROVIDER_DECISION,
    # POST /periods/{id}/topup starts the top-up function (starts_topup): the HTTP function scans nothing.
    REPORTS,
    {
        # storage.certificates: issue (PutItem), of_guardian (by_guardian); storage.movements: funding, hold, charge,
        # release and check_usable (ConditionCheckItem) in transactions; TransactGetItems at enrolment (GetItem).
        "certificates": on(GET, PUT, UPDATE, CHECK, indexes=("by_guardian",)),
        # storage.ledger.page: the cabinet's history on by_posted; entries are written in the money transactions.
        "ledger": on(PUT, indexes=("by_posted",)),
        # storage.idempotency: begin (PutItem, then GetItem of a held key), finish (UpdateItem), abandon (DeleteItem).
        "idempotency": on(GET, PUT, UPDATE, DELETE),
        # storage.providers: insert, get, queue_page (by_queue), move and record_document (UpdateItem), the
        # approved-provider check of enrolments, charges and new programs (ConditionCheckItem); ratings' summary.
        "providers": on(GET, PUT, UPDATE, CHECK, indexes=("by_queue",)),
        # storage.programs: insert, get, edit/move, the seat marker and seat count of enrolments and ends, the
        # catalog (three sparse indexes) and a provider's own programs (by_provider).
        "programs": on(
            GET,
            PUT,
            UPDATE,
            DELETE,
            indexes=("catalog_by_municipality", "catalog_by_direction", "catalog_of_region", "by_provider"),
        ),
        # storage.contracts: get, enrolment (PutItem), accept/charge/end (UpdateItem), a parent's and a provider's
        # lists (by_guardian, by_provider); storage.contracts.find reads the rated contract.
        "contracts": on(GET, PUT, UPDATE, indexes=("by_guardian", "by_provider")),
        # storage.ratings: rate (the marker's and the rating's PutItem in a transaction), page (Query, newest first).
        "program_ratings": on(PUT, QUERY),
        # storage.certificates.issue / claim_identity: the child's identity in the registration's (and a merge's)
        # transaction; its old image explains a duplicate. storage.duplicates: a merge reads the duplicate's open
        # contracts (contracts by_certificate) and moves money with storage.movements.add_merge (quota item: periods).
        "identities": on(UPDATE),
        # storage.objections: filing (PutItem), get, deciding (UpdateItem), the parent's, provider's and operators'
        # lists; storage.objections.charged_at reads the charge's ledger entry (GetItem).
        "objections": on(GET, PUT, UPDATE, indexes=("by_guardian", "by_provider", "by_queue")),
    },
    # Objections and merges: the contract's month marked, the reversal (certificate update or check, ledger entry);
    # the statement: the certificate's ledger (Query), the contracts and providers it names (BatchGetItem).
    {
        "contracts": on(GET, UPDATE, BATCH_GET, indexes=("by_certificate",)),
        "ledger": on(GET, QUERY),
        "providers": on(GET, BATCH_GET),
    },
)

# functions/jobs/admin.py: open a period, run or read a top-up, reconcile one or all certificates (a Scan), freeze or
# unfreeze a certificate (unfreezing rolls it over), suspend or reinstate a provider.
ADMIN: Access = combine(
    OPEN_PERIOD,
    TOPUP_JOB,
    RECONCILE,
    FREEZE,
    ROLLOVER,
    PROVIDER_DECISION,
    {"certificates": on(SCAN)},  # storage.certificates.all_ids (reconcile_all)
    # backfill_identities: storage.duplicates.living_certificates (the Scan above), then each certificate's
    # identity claimed in a transaction (storage.certificates.backfill_identity: UpdateItem).
    {"identities": on(UPDATE)},
)

# functions/jobs/expiry.py contract_expiry -> services.contracts.expire_requests: a Scan of the requests past their
# answer date, then each one ended (storage.contracts.requests_due, commit_end).
CONTRACT_EXPIRY: Access = combine({"contracts": on(SCAN)}, END_CONTRACT)


# functions/jobs/notices.py expiry_notices -> services.expiry_notices.send_expiry_notices: a Scan of funded
# certificates with money left and no notice yet, and the conditional mark set (or given back) on each
# (storage.expiry_notices).
EXPIRY_NOTICES: Access = combine(CALENDAR, {"certificates": on(SCAN, UPDATE)})

# functions/jobs/streams.py aggregates -> services.streams.consume: what the changes need to know (storage.aggregates.
# dimensions: a certificate's municipality, a contract's program and provider, a program's direction; BatchGetItem),
# the active-contract counts (BatchGetItem), and each group's transaction (markers: PutItem; counters: UpdateItem).
# Its streams, and the on-failure queue, are granted by infra/template.py.
AGGREGATES: Access = {
    "certificates": on(BATCH_GET),
    "contracts": on(BATCH_GET),
    "programs": on(BATCH_GET),
    "aggregates": on(BATCH_GET, PUT, UPDATE),
}


@dataclass(frozen=True)
class FunctionAccess:
    """Everything one function may touch."""

    tables: Access
    # Provider documents (storage.documents): pre-signed POST and GET, HeadObject, GetObject to hash, DeleteObject.
    documents: bool = False
    # Creates the one-time EventBridge Scheduler schedule of a period's start, run by the top-up function.
    period_schedules: bool = False
    # Tells parents (chalicelib.platform.notifications): events:PutEvents on the stage's notification bus.
    notifications: bool = False
    # Starts the top-up now (chalicelib.platform.scheduling.InvokeTopupFunction): lambda:InvokeFunction on the top-up.
    starts_topup: bool = False


# Keyed by the Chalice function name (``api_handler`` serves every route).
FUNCTIONS: dict[str, FunctionAccess] = {
    # Charges, releases and objection decisions are told to the parent.
    "api_handler": FunctionAccess(HTTP, documents=True, period_schedules=True, notifications=True, starts_topup=True),
    "topup": FunctionAccess(TOPUP_JOB),
    "topup_sweep": FunctionAccess(TOPUP_JOB),
    # An expired request's hold released is told to the parent.
    "contract_expiry": FunctionAccess(CONTRACT_EXPIRY, notifications=True),
    "admin": FunctionAccess(ADMIN, period_schedules=True),
    "expiry_notices": FunctionAccess(EXPIRY_NOTICES, notifications=True),
    "aggregates": FunctionAccess(AGGREGATES),
}


def check() -> None:
    """Every table and index named here exists in the models."""
    from chalicelib.storage.tables import table_schemas

    schemas = table_schemas()
    for function, access in FUNCTIONS.items():
        for table, grant in access.tables.items():
            if table not in TABLES:
                raise ValueError(f"{function}: unknown table {table}")
            schema = schemas[table]
            indexes = {i["index_name"] for i in schema["global_secondary_indexes"] + schema["local_secondary_indexes"]}
            missing = grant.indexes - indexes
            if missing:
                raise ValueError(f"{function}: {table} has no index {sorted(missing)}")
