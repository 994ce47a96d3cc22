"""The reports' stream consumer in the template: each consumed table has a stream, each stream a mapping into the
``aggregates`` function that retries safely (split batches, bounded retries, an on-failure queue that alarms), and
the function's role reads exactly those streams.

Rendered from infra/template.py for a stage whose app registers the function (as it will once
functions/jobs/streams.py's blueprint is in app.py); the packaged, cfn-linted template is
tests/infra/test_template.py's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.storage.aggregates import STREAM_FILTERS
from chalicelib.storage.models import TABLES
from chalicelib.storage.tables import stream_view_type
from infra import access
from infra.tables import table_logical_id
from infra.template import (
    STREAM_CONSUMER,
    STREAM_FAILURES,
    consumed_tables,
    function_id,
    load_stage,
    merge_template,
    role_id,
)

CONSUMED = {"ledger", "certificates", "contracts", "objections"}


@pytest.fixture
def resources() -> dict[str, Any]:
    stage = load_stage("prod", ("api_handler", "topup", STREAM_CONSUMER))
    found: dict[str, Any] = merge_template(stage)["Resources"]
    return found


def mappings(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each stream mapping's properties, by the table whose stream it reads."""
    found = {}
    for resource in resources.values():
        if resource.get("Type") == "AWS::Lambda::EventSourceMapping":
            logical = resource["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
            found[logical] = resource["Properties"]
    return found


def test_the_tables_the_reports_read_have_streams_with_the_images_the_consumer_needs(
    resources: dict[str, Any],
) -> None:
    assert set(consumed_tables()) == CONSUMED
    for base, (model, _ttl) in TABLES.items():
        specification = resources[table_logical_id(base)]["Properties"].get("StreamSpecification")
        if base in CONSUMED:
            # The ledger is only ever inserted into; the others need the old image to see a status change.
            assert specification == {"StreamViewType": "NEW_IMAGE" if base == "ledger" else "NEW_AND_OLD_IMAGES"}
            assert stream_view_type(model) == specification["StreamViewType"]
        else:
            assert specification is None, base


def test_each_stream_feeds_the_aggregates_function_with_bounded_retries_and_a_queue_for_what_fails(
    resources: dict[str, Any],
) -> None:
    found = mappings(resources)
    assert set(found) == {table_logical_id(base) for base in CONSUMED}
    queue = {"Fn::GetAtt": [STREAM_FAILURES, "Arn"]}
    for properties in found.values():
        assert properties["FunctionName"] == {"Ref": function_id(STREAM_CONSUMER)}
        assert properties["StartingPosition"] == "TRIM_HORIZON"
        assert properties["BisectBatchOnFunctionError"] is True
        assert 0 < properties["MaximumRetryAttempts"] <= 10
        assert properties["ParallelizationFactor"] == 1  # one batch per shard at a time, in order
        assert properties["DestinationConfig"] == {"OnFailure": {"Destination": queue}}
    assert resources[STREAM_FAILURES]["Type"] == "AWS::SQS::Queue"
    alarm = resources[f"{STREAM_FAILURES}Alarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and alarm["Threshold"] == 0


def test_the_filters_are_the_consumers_own_patterns(resources: dict[str, Any]) -> None:
    for base in CONSUMED:
        patterns = mappings(resources)[table_logical_id(base)]["FilterCriteria"]["Filters"]
        assert [json.loads(p["Pattern"]) for p in patterns] == STREAM_FILTERS[base]


def test_the_consumer_reads_exactly_the_consumed_streams_and_writes_only_the_aggregates(
    resources: dict[str, Any],
) -> None:
    statements = {
        s["Sid"]: s
        for policy in resources[role_id(STREAM_CONSUMER)]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    }
    streams = statements["ReadTableStreams"]
    assert sorted(streams["Action"]) == ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    assert {r["Fn::GetAtt"][0] for r in streams["Resource"]} == {table_logical_id(b) for b in CONSUMED}
    assert all(r["Fn::GetAtt"][1] == "StreamArn" for r in streams["Resource"])
    assert statements["FailedStreamBatches"]["Resource"] == {"Fn::GetAtt": [STREAM_FAILURES, "Arn"]}
    writes = {
        table
        for table, grant in access.AGGREGATES.items()
        if grant.actions & {access.PUT, access.UPDATE, access.DELETE}
    }
    assert writes == {"aggregates"}


def test_a_stage_without_the_consumer_has_no_stream_mappings() -> None:
    stage = load_stage("prod", ("api_handler", "topup"))
    resources = merge_template(stage)["Resources"]
    assert not mappings(resources)
    assert STREAM_FAILURES not in resources
