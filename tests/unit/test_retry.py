"""The one retry helper: how many attempts, what is tried again, the capped and jittered sleeps between them."""

from __future__ import annotations

import random
import time

import pytest

from chalicelib.domain import errors
from chalicelib.storage.retry import Backoff, retry


class Busy(Exception):
    pass


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sleeps, recorded instead of slept; the jitter seeded, so every run draws the same."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    state = random.getstate()
    random.seed(12)
    yield recorded
    random.setstate(state)


def test_a_failure_it_is_told_to_retry_is_tried_again_with_full_jitter_under_a_capped_ceiling(
    slept: list[float],
) -> None:
    attempts: list[int] = []

    def work(attempt: int) -> str:
        attempts.append(attempt)
        if attempt < 5:
            raise Busy()
        return "done"

    assert retry(work, Backoff(6, base=0.01, cap=0.05), on=Busy) == "done"
    assert attempts == [0, 1, 2, 3, 4, 5]
    ceilings = [0.01, 0.02, 0.04, 0.05, 0.05]  # base * 2**n, capped
    assert len(slept) == len(ceilings) and all(0 <= s <= c for s, c in zip(slept, ceilings, strict=True))
    assert len(set(slept)) == len(slept)  # drawn, not fixed


def test_when_the_attempts_run_out_the_last_failure_is_raised_or_a_concurrent_update_that_says_so(
    slept: list[float],
) -> None:
    def always(attempt: int) -> None:
        raise Busy(attempt)

    with pytest.raises(Busy) as raised:
        retry(always, Backoff(3), on=Busy)
    assert raised.value.args == (2,) and len(slept) == 2  # no sleep after the last attempt

    with pytest.raises(errors.ConcurrentUpdate, match="the thing kept changing; retry") as gave_up:
        retry(always, Backoff(3), on=Busy, gave_up="the thing kept changing; retry")
    assert isinstance(gave_up.value.__cause__, Busy)


def test_any_other_failure_is_raised_at_once_without_a_sleep(slept: list[float]) -> None:
    attempts: list[int] = []

    def refused(attempt: int) -> None:
        attempts.append(attempt)
        raise errors.InsufficientFunds()

    with pytest.raises(errors.InsufficientFunds):
        retry(refused, Backoff(5), on=errors.ConcurrentUpdate)
    assert attempts == [0] and slept == []


def test_a_backoff_with_no_ceiling_never_sleeps_and_one_needs_an_attempt(slept: list[float]) -> None:
    calls: list[int] = []

    def twice(attempt: int) -> int:
        calls.append(attempt)
        if attempt == 0:
            raise Busy()
        return attempt

    assert retry(twice, Backoff(2, base=0.0), on=Busy) == 1 and slept == []
    with pytest.raises(ValueError):
        Backoff(0)
