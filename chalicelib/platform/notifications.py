"""Telling parents what happened to their money: events on EventBridge (dev, prod), JSON lines in the local stage.

Events (``detail-type``): ``ChargeMade``, ``HoldReleased``, ``ExpiryNotice``, ``ObjectionDecided``. The detail names
the certificate, the contract, amounts in kopecks and the month, and is addressed to the guardian's ``sub`` where
the use case knows it without a read (a charge does not: it is one transaction and reads nothing, so its event is
addressed by certificate, whose guardian the consumer looks up). Never a child's name or birth date.

Publishing happens after the money's transaction has committed and can never undo it or turn it into an error: a
failure is logged and counted (metric ``NotificationsFailed``), and the operation's answer stands.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.platform import telemetry

if TYPE_CHECKING:
    from chalicelib.platform.config import Settings

log = logging.getLogger("pfdo.notifications")

CHARGE_MADE = "ChargeMade"
HOLD_RELEASED = "HoldReleased"
EXPIRY_NOTICE = "ExpiryNotice"
OBJECTION_DECIDED = "ObjectionDecided"
PUT_EVENTS_BATCH = 10  # EventBridge takes at most 10 entries per PutEvents

Scalar = str | int | None


@dataclass(frozen=True)
class Notice:
    """One thing to tell a parent."""

    detail_type: str
    certificate_id: str
    guardian_sub: str | None = None
    facts: dict[str, Scalar] = field(default_factory=dict)

    def detail(self) -> dict[str, Scalar]:
        return {"certificate_id": self.certificate_id, "guardian_sub": self.guardian_sub, **self.facts}


class Notifier(Protocol):
    def publish(self, notices: Sequence[Notice]) -> None:
        """Sends the notices; raises on failure (``tell`` turns a failure into a log line and a metric)."""


class PublishFailed(Exception):
    """EventBridge refused some of the entries."""


class EventBridgeNotifier:
    """PutEvents to the stage's bus, ten entries a call; the client is created on first use."""

    def __init__(self, bus: str, source: str, client_factory: Callable[[], Any] | None = None) -> None:
        self.bus = bus
        self.source = source
        self._factory = client_factory or _events_client
        self._client: Any = None
        self._lock = threading.Lock()

    def _events(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._factory()
            return self._client

    def publish(self, notices: Sequence[Notice]) -> None:
        for start in range(0, len(notices), PUT_EVENTS_BATCH):
            entries = [self.entry(n) for n in notices[start : start + PUT_EVENTS_BATCH]]
            answer = self._events().put_events(Entries=entries)
            if answer.get("FailedEntryCount", 0):
                codes = sorted({e.get("ErrorCode", "?") for e in answer.get("Entries", []) if e.get("ErrorCode")})
                raise PublishFailed(f"{answer['FailedEntryCount']} of {len(entries)} events refused: {codes}")

    def entry(self, notice: Notice) -> dict[str, Any]:
        return {
            "EventBusName": self.bus,
            "Source": self.source,
            "DetailType": notice.detail_type,
            "Detail": json.dumps(notice.detail(), ensure_ascii=False, separators=(",", ":")),
        }


def _events_client() -> Any:
    import boto3  # lazily: routes that never publish do not pay for the client at cold start

    return boto3.client("events")


class LogNotifier:
    """The local stage's sink: one JSON line per notice in the log, and appended to ``path`` when given."""

    def __init__(self, source: str, path: str | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.source = source
        self.path = Path(path) if path else None
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()

    def publish(self, notices: Sequence[Notice]) -> None:
        lines = [self.line(notice) for notice in notices]
        for line in lines:
            log.info(line)
        if self.path is not None:
            with self._lock, self.path.open("a", encoding="utf-8") as sink:
                sink.writelines(line + "\n" for line in lines)

    def line(self, notice: Notice) -> str:
        event = {
            "time": self._clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": self.source,
            "detail-type": notice.detail_type,
            "detail": notice.detail(),
        }
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


_notifiers: dict[tuple[str, str, str, str | None], Notifier] = {}
_notifiers_lock = threading.Lock()


def for_settings(settings: Settings) -> Notifier:
    """The stage's notifier (one per process and configuration): the log sink locally, EventBridge elsewhere."""
    key = (settings.stage, settings.notification_bus, settings.notification_source, settings.notification_log)
    with _notifiers_lock:
        if key not in _notifiers:
            if settings.is_local:
                _notifiers[key] = LogNotifier(settings.notification_source, settings.notification_log)
            else:
                _notifiers[key] = EventBridgeNotifier(settings.notification_bus, settings.notification_source)
        return _notifiers[key]


def tell(notifier: Notifier, notices: Sequence[Notice]) -> bool:
    """Publishes after the money has moved; returns False (logged, counted) instead of raising on any failure.

    Deliberately broad: whatever goes wrong here — the network, EventBridge, a notifier's bug — must not turn a
    committed charge or decision into an error answer. The stack trace is logged, so nothing is hidden.
    """
    if not notices:
        return True
    try:
        notifier.publish(notices)
    except Exception:
        log.exception("could not publish %s", ", ".join(sorted({n.detail_type for n in notices})))
        telemetry.count("NotificationsFailed", len(notices))
        return False
    return True
