"""The ``aggregates`` function: Lambda delivers batches of the ledger, certificates, contracts and objections
streams (infra/template.py maps each stream to it); each batch is applied to the reports' counters exactly once
(services/streams.py). A batch that fails raises: Lambda delivers it again (split in halves after a failure) and,
after its last retry, sends its description to the on-failure queue.

Its entry point is in functions/jobs/handlers.py, which calls ``apply`` on the first event.
"""

from __future__ import annotations

from typing import Any

from chalicelib.services import streams
from functions import runtime


def apply(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Applies one batch of stream records; answers what it counted (and what it found counted before)."""
    outcome = streams.consume(runtime.context(), event.get("Records", []))
    result: dict[str, int] = outcome.as_json()
    return result
