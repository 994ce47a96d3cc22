"""Powertools on every function: the Lambda context in every log line (the request's, a job's and the ``pfdo.*``
loggers'), X-Ray tracing, and neither the event nor the response written to the logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import ROOT

REQUEST_ID = "5f1c1e0c-1d39-4c55-9f5b-0d4a6f0a9c11"


class LambdaContext:
    """What Lambda passes a handler (the attributes Powertools reads)."""

    function_name = "pfdo-functions-prod-api_handler"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:pfdo-functions-prod-api_handler"
    aws_request_id = REQUEST_ID

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@contextmanager
def log_lines() -> Iterator[list[dict[str, Any]]]:
    """The JSON lines Powertools' handler writes while inside (its stream swapped for a buffer)."""
    from functions import runtime

    handler = runtime.logger().registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        handler.setStream(previous)
        lines.extend(json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{"))


def test_the_function_url_handler_logs_each_request_with_the_lambda_context(table_prefix: str) -> None:
    import app

    event = json.loads((ROOT / "tests/fixtures/function_url/get_certificate_no_token.json").read_text())
    with log_lines() as lines:
        answer = app.url_handler(event, LambdaContext())
    assert answer["statusCode"] == 401
    (request,) = [line for line in lines if line["message"] == "request"]
    assert request["function_request_id"] == REQUEST_ID
    assert request["function_name"] == LambdaContext.function_name
    assert "cold_start" in request and request["status"] == 401
    # The event (its headers, a token) is not logged.
    assert not [line for line in lines if "headers" in json.dumps(line)]


def test_a_job_logs_with_the_lambda_context_and_so_do_the_pfdo_loggers(table_prefix: str) -> None:
    import app  # noqa: F401 - registers the jobs' middleware on the app
    from functions import runtime
    from functions.jobs import handlers as jobs

    def job(event: dict[str, Any], context: Any) -> str:
        logging.getLogger("pfdo.test").warning("from a pfdo logger")
        return "done"

    with log_lines() as lines:
        reply = jobs.admin({"action": "topup_progress", "period_id": "1999"}, LambdaContext())
        assert runtime.observed(job)({}, LambdaContext()) == "done"
    assert reply["ok"] is False and reply["error"]["code"] == "period_not_found"
    (logged,) = [line for line in lines if line["message"] == "admin"]
    assert logged["function_request_id"] == REQUEST_ID and logged["outcome"] == "period_not_found"
    (own,) = [line for line in lines if line["message"] == "from a pfdo logger"]
    assert own["function_request_id"] == REQUEST_ID and own["name"] == "pfdo.test" and own["level"] == "WARNING"


def test_without_a_lambda_context_a_handler_runs_as_it_is() -> None:
    from functions import runtime

    assert runtime.observed(lambda event, context: (event, context))(1, None) == (1, None)


def test_the_tracer_is_powertools_and_off_outside_lambda() -> None:
    from functions import runtime

    tracer = runtime.tracer()
    assert tracer.disabled is True  # no LAMBDA_TASK_ROOT: tests and make run send no segments
    assert runtime.tracer() is tracer
