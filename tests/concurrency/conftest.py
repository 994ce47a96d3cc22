"""Fixtures of the concurrency tests: the stage that worker processes enter (the engine, this test's tables)."""

from __future__ import annotations

import pytest

from chalicelib.platform.clock import SettableClock
from devtools import ddb_local
from tests.concurrency.harness import Stage
from tests.concurrency.world import IN_A


@pytest.fixture
def stage(engine: ddb_local.LocalEngine, table_prefix: str, clock: SettableClock) -> Stage:
    """Worker processes act on this test's tables; the test's own clock (``ctx``) is moved into period A."""
    clock.set(IN_A)
    return Stage(env=ddb_local.local_aws_environment(engine.endpoint), prefix=table_prefix, instant=IN_A)
