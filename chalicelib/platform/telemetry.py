"""Metrics for operators, written as CloudWatch embedded-metric lines (Powertools): charges, refusals by code,
top-up progress, ledger drift. Printing a line costs no AWS call; CloudWatch turns it into a metric."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "PFDO"


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(key, dimension)
