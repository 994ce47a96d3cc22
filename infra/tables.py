"""CloudFormation for the DynamoDB tables, rendered from the PynamoDB models (the one definition of each table).

On-demand billing, point-in-time recovery, deletion protection, TTL where the model has one, server-side encryption.
`python -m infra.tables STAGE` prints the resources as JSON (merged into the deployment template by infra/).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from chalicelib.storage.tables import table_schemas


def _logical_id(base: str) -> str:
    return "".join(part.capitalize() for part in base.split("_")) + "Table"


def table_logical_id(base: str) -> str:
    """The table's resource name in the template (``certificates`` -> ``CertificatesTable``)."""
    return _logical_id(base)


def _key_schema(schema: list[dict[str, str]]) -> list[dict[str, str]]:
    # CloudFormation wants the HASH key first; PynamoDB lists the keys in attribute order (ratings: RANGE first).
    keys = sorted(schema, key=lambda k: k["KeyType"] != "HASH")
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in keys]


def _index(index: dict[str, Any]) -> dict[str, Any]:
    return {
        "IndexName": index["index_name"],
        "KeySchema": _key_schema(index["key_schema"]),
        "Projection": {"ProjectionType": index["projection"]["ProjectionType"]},
    }


def table_resources(prefix: str) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for base, schema in table_schemas().items():
        properties: dict[str, Any] = {
            "TableName": f"{prefix}{base}",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
                for a in schema["attribute_definitions"]
            ],
            "KeySchema": _key_schema(schema["key_schema"]),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
            "SSESpecification": {"SSEEnabled": True},
        }
        if schema["global_secondary_indexes"]:
            properties["GlobalSecondaryIndexes"] = [_index(i) for i in schema["global_secondary_indexes"]]
        if schema["local_secondary_indexes"]:
            properties["LocalSecondaryIndexes"] = [_index(i) for i in schema["local_secondary_indexes"]]
        if schema["ttl_attribute"]:
            properties["TimeToLiveSpecification"] = {"AttributeName": schema["ttl_attribute"], "Enabled": True}
        if schema.get("stream_view_type"):
            # Consumed by the ``aggregates`` function (the operators' reports; infra/template.py maps it).
            properties["StreamSpecification"] = {"StreamViewType": schema["stream_view_type"]}
        resources[_logical_id(base)] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": properties,
        }
    return resources


if __name__ == "__main__":
    stage = sys.argv[1] if len(sys.argv) > 1 else "prod"
    print(json.dumps({"Resources": table_resources(f"pfdo-{stage}-")}, indent=2))
