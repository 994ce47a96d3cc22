"""infra/ renders the tables from the same models the code uses."""

from __future__ import annotations

from chalicelib.storage.models import TABLES
from infra.tables import table_resources


def test_every_table_is_rendered_with_recovery_protection_and_on_demand_billing() -> None:
    resources = table_resources("pfdo-prod-")
    names = {r["Properties"]["TableName"] for r in resources.values()}
    assert names == {f"pfdo-prod-{base}" for base in TABLES}
    for resource in resources.values():
        properties = resource["Properties"]
        assert resource["DeletionPolicy"] == "Retain"
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["DeletionProtectionEnabled"] is True


def test_keys_and_indexes_follow_the_models() -> None:
    resources = table_resources("p-")
    ledger = resources["LedgerTable"]["Properties"]
    assert ledger["KeySchema"] == [
        {"AttributeName": "certificate_id", "KeyType": "HASH"},
        {"AttributeName": "entry_key", "KeyType": "RANGE"},
    ]
    assert [i["IndexName"] for i in ledger["LocalSecondaryIndexes"]] == ["by_posted"]
    assert [i["IndexName"] for i in resources["CertificatesTable"]["Properties"]["GlobalSecondaryIndexes"]] == [
        "by_guardian"
    ]
    assert resources["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
