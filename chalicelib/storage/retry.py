"""The one retry helper: a few attempts with capped, jittered sleeps between them.

Every retry of the code goes through it: a transaction sent again after a busy item, a consistent read cancelled by
a concurrent write, unprocessed keys of a batch read, a use case that reads again after its conditional write met a
change (``ConcurrentUpdate``). Each names its ``Backoff`` (how many attempts, how long at most between them) and the
exceptions that mean "try again"; the last attempt's failure is raised as it is, or as ``ConcurrentUpdate(gave_up)``
(a use case that read again and again and always met a change: the client may retry).

The sleep is full jitter (AWS's "Exponential Backoff And Jitter"): a uniform draw up to
``min(cap, base * 2**attempt)``, so that processes that met each other once do not meet again in lockstep. It calls
``time.sleep`` from this module, so a test can record the sleeps by patching ``time.sleep`` (tests/integration/
test_faults.py) and seed ``random`` to make them repeatable.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from chalicelib.domain import errors

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """At most ``attempts`` tries; before try n+1 a random sleep of at most ``min(cap, base * 2**n)`` seconds."""

    attempts: int
    base: float = 0.01
    cap: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.cap < 0:
            raise ValueError("a backoff makes at least one attempt and never sleeps a negative time")

    def ceiling(self, attempt: int) -> float:
        return min(self.cap, self.base * 2**attempt)

    def pause(self, attempt: int) -> None:
        """Sleeps after failed attempt ``attempt`` (0-based): full jitter under the ceiling."""
        ceiling = self.ceiling(attempt)
        if ceiling > 0:
            time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not a secret


def retry(
    work: Callable[[int], T],
    backoff: Backoff,
    *,
    on: type[BaseException] | tuple[type[BaseException], ...],
    gave_up: str | None = None,
) -> T:
    """``work(attempt)`` until it returns; a failure of type ``on`` is tried again after a pause, any other is raised
    at once. When the attempts run out, the last failure is raised, or ``ConcurrentUpdate(gave_up)`` chained to it."""
    attempt = 0
    while True:
        try:
            return work(attempt)
        except on as failure:
            if attempt + 1 >= backoff.attempts:
                if gave_up is None:
                    raise
                raise errors.ConcurrentUpdate(gave_up) from failure
        backoff.pause(attempt)
        attempt += 1
