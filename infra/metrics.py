"""The custom metrics operators watch: the contract between the application, which prints them as CloudWatch
embedded-metric lines (chalicelib/platform/telemetry.py, Powertools), and infra/, which alarms on them and draws them.

Namespace ``PFDO``. Every metric carries the dimension ``service`` = ``pfdo-{stage}`` (Powertools adds it from the
``POWERTOOLS_SERVICE_NAME`` environment variable each stage sets), so dev and prod in one account never mix. An alarm
matches a metric only with exactly its dimensions: a metric must be emitted with the dimensions listed here, no more.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "PFDO"
SERVICE = "service"


def service_name(stage: str) -> str:
    return f"pfdo-{stage}"


@dataclass(frozen=True)
class Metric:
    name: str
    dimensions: tuple[str, ...]
    meaning: str
    unit: str = "Count"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("Charges", (SERVICE,), "a provider's monthly charge was written (one per charge)"),
        Metric("Refusals", (SERVICE, "code"), "an HTTP request refused with a 4xx, by error code"),
        Metric("Errors", (SERVICE, "code"), "an HTTP request answered with a 5xx, by error code"),
        Metric(
            "TopupSegmentsPending",
            (SERVICE,),
            "scan segments of the running period's top-up not finished yet; printed by topup and topup_sweep after "
            "every run (0 once complete). The alarm fires when it stays above 0 for TopupDeadlineHours",
        ),
        Metric(
            "TopupCertificates",
            (SERVICE,),
            "certificates credited so far by the running period's top-up, printed with TopupSegmentsPending "
            "(a gauge: read its Maximum)",
        ),
        Metric(
            "TopupScheduleFailures",
            (SERVICE,),
            "a period was opened but EventBridge Scheduler refused its top-up's one-time schedule "
            "(services.periods.schedule_topup); the 15-minute sweep still starts the top-up",
        ),
        Metric(
            "LedgerDrift",
            (SERVICE,),
            "certificates whose stored balance differs from the replay of their ledger (admin reconcile and "
            "reconcile_all; the certificate ids go to the log line, never into a dimension)",
        ),
    )
}
