"""The process-wide context of a function, built on first use (never at import time): the composition root that the
HTTP edge (functions/edge/), the views and the jobs (functions/jobs/) share.

Every Lambda handler is ``observed``: on each invocation Powertools adds the Lambda context (request id, function,
cold start) to every log line, the ``pfdo.*`` loggers included, and the Tracer records it in X-Ray (the template
turns tracing on). The logger and the tracer are made by the first invocation, not at import: the Tracer loads the
X-Ray SDK and patches botocore, which a cold import need not pay for before it has an event (bench/package.py).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger

from chalicelib.platform.clock import SettableClock, SystemClock
from chalicelib.platform.config import get_settings
from chalicelib.services.context import Context

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

_lock = threading.Lock()
_context: list[Context] = []
_logger: list[Logger] = []
_tracer: list[Tracer] = []
# The application's own loggers (logging.getLogger("pfdo.<part>")) log through Powertools' handler.
APPLICATION_LOGGER = "pfdo"
# Without POWERTOOLS_SERVICE_NAME (tests, make run): the service named in the logs.
DEFAULT_SERVICE = "pfdo-functions"
Handler = TypeVar("Handler", bound=Callable[[Any, Any], Any])


def context() -> Context:
    with _lock:
        if not _context:
            settings = get_settings()
            clock = SettableClock() if settings.is_local else SystemClock()
            _context.append(Context.for_stage(settings, clock))
        return _context[0]


def reset() -> None:
    """Forgets the context (tests that change the environment)."""
    with _lock:
        _context.clear()
    get_settings.cache_clear()


def logger() -> Logger:
    """Structured JSON logs (Powertools): one object per line, read directly by CloudWatch Logs Insights. The
    ``pfdo.*`` loggers are attached to it: same handler, same keys (the Lambda context once a handler is observed)."""
    with _lock:
        if not _logger:
            from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

            made = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE)
            logging.getLogger(APPLICATION_LOGGER)  # registered, so that it is found and configured
            copy_config_to_registered_loggers(source_logger=made, include={APPLICATION_LOGGER})
            # In Lambda the records stop there, or the runtime's own root handler would print each twice; elsewhere
            # (tests' caplog, a console run) they go on to the root logger as well.
            logging.getLogger(APPLICATION_LOGGER).propagate = "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
            _logger.append(made)
        return _logger[0]


def tracer() -> Tracer:
    """The X-Ray tracer (Powertools), made on first use: disabled outside Lambda (tests, ``make run``)."""
    with _lock:
        if not _tracer:
            from aws_lambda_powertools import Tracer

            _tracer.append(Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE))
        return _tracer[0]


# What Powertools reads of a Lambda context (chalice local's and tests' stand-ins may lack them).
LAMBDA_CONTEXT = ("aws_request_id", "function_name", "invoked_function_arn", "memory_limit_in_mb")


def observed(handler: Handler) -> Handler:
    """``handler`` (a Lambda handler: event, context) with Powertools' ``inject_lambda_context`` and the Tracer's
    ``capture_lambda_handler`` around it, on every invocation. Neither the event nor the response is logged or
    traced: they hold children's names and documents. Called without a Lambda context (a test or a console run
    calling it directly) it runs the handler as it is.

    The HTTP handler is wrapped with it in app.py; the jobs through Chalice's middleware
    (``ConvertToMiddleware(observed)``, functions/jobs/handlers.py)."""

    def call(event: Any, context: Any) -> Any:
        return handler(event, context)

    # The trace's subsegment is named after the handler (the Function URL's is an object: its class's name).
    call.__name__ = getattr(handler, "__name__", type(handler).__name__)

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        if not all(hasattr(context, name) for name in LAMBDA_CONTEXT):
            return handler(event, context)
        traced = tracer().capture_lambda_handler(call, capture_response=False)
        return logger().inject_lambda_context(traced, log_event=False)(event, context)

    return run  # type: ignore[return-value]
