"""Shared fixtures: one in-memory DynamoDB Local per test session (per xdist worker), fresh tables per test."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import botocore.session
import pytest
from chalice.test import Client

from chalicelib.platform.clock import SettableClock
from chalicelib.platform.config import Settings
from chalicelib.services.context import Context
from chalicelib.storage.models import bind_tables
from chalicelib.storage.tables import create_tables
from chalicelib.storage.transactions import reset_connection
from devtools import ddb_local
from functions import runtime
from tests.helpers import empty_tables

LOCAL_SECRET = "test-secret"
# The stage has no default (chalicelib/platform/config.py: no stage, no start). The suite runs the local stage unless
# a test says otherwise; subprocesses that import the app (packaging, routes, probes) inherit it.
os.environ.setdefault("PFDO_STAGE", "local")
ROOT = Path(__file__).resolve().parent.parent


def _share_botocore_loader() -> None:
    """One botocore data loader for every session of this test process.

    Tests reset the runtime (and count round trips, seed worlds, empty tables) with new boto3/PynamoDB sessions, and
    each new session parsed endpoints.json and the DynamoDB/S3 models again: about 0.3 s of CPU per client, half the
    Python time of an integration test. The loader's own cache (per instance) keeps the parsed files; sharing the
    instance keeps them for the process. The files are read-only data, as within one session already.
    """
    create = botocore.session.create_loader
    loaders: dict[object, object] = {}

    def shared(search_path_string: object = None) -> object:
        if search_path_string not in loaders:
            loaders[search_path_string] = create(search_path_string)
        return loaders[search_path_string]

    botocore.session.create_loader = shared  # type: ignore[assignment]


_share_botocore_loader()


@pytest.fixture(scope="session")
def engine() -> Iterator[ddb_local.LocalEngine]:
    """DynamoDB Local, in memory, on a free port, with the quick JVM options; stopped by PID at the end of the
    session."""
    local = ddb_local.start(java_options=ddb_local.QUICK_JAVA_OPTIONS)
    os.environ.update(ddb_local.local_aws_environment(local.endpoint))
    yield local
    local.stop()


@pytest.fixture(scope="session")
def session_tables(engine: ddb_local.LocalEngine) -> str:
    """The tables of this worker, created once; each test empties them first (creating 8 tables with their indexes
    per test cost about three seconds)."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    create_tables(prefix)
    return prefix


@pytest.fixture
def table_prefix(session_tables: str) -> Iterator[str]:
    """Empty tables for one test, bound for the models and the app."""
    empty_tables(session_tables)
    bind_tables(session_tables)
    reset_connection()
    env = test_environment(session_tables)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    runtime.reset()
    yield session_tables
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    runtime.reset()


def test_environment(prefix: str) -> dict[str, str]:
    return {
        "PFDO_STAGE": "local",
        "PFDO_TABLE_PREFIX": prefix,
        "PFDO_JWT_SECRET": LOCAL_SECRET,
        "PFDO_PERIOD_CACHE_SECONDS": "0",
    }


@pytest.fixture
def api(table_prefix: str, tmp_path: Path) -> Iterator[Client]:
    """The Chalice test client on the local stage, bound to this test's tables.

    The client applies a stage's environment from .chalice/config.json on every request, so it reads a copy of the
    project's config whose local stage points at this test's tables.
    """
    import app as app_module

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["local"]["environment_variables"].update(test_environment(table_prefix))
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    with Client(app_module.app, stage_name="local", project_dir=str(tmp_path)) as client:
        yield client
    runtime.reset()


@pytest.fixture
def clock() -> SettableClock:
    clock = SettableClock()
    clock.set(datetime(2027, 2, 10, 12, 0, tzinfo=UTC))
    return clock


@pytest.fixture
def ctx(table_prefix: str, clock: SettableClock) -> Context:
    settings = Settings(stage="local", table_prefix=table_prefix, period_cache_seconds=0, jwt_secret=LOCAL_SECRET)
    return Context.create(settings, clock)
