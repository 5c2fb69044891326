"""A run's time budget: the deadline the executor sets for the run, which every blocking call
inside its steps reads to cap its own timeout.

Celery's soft and hard time limits are not enforced by the ``threads`` pool the ``runs`` worker
uses, so the executor enforces ``RUN_TIME_BUDGET_S`` itself, whatever the pool: it starts a
``Deadline`` when it claims the run and puts it in scope (``deadline_scope``, a context
variable: each worker thread sees only its own run's deadline). Calls that may block — the
model endpoint with its retries, IBKR requests and pacing waits, the chart PNG export — take
``time_left(their own timeout)`` as their timeout, and raise RunTimeBudgetExceededError rather
than start when no time is left. Outside a run (no deadline in scope) they keep their own
timeouts unchanged.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from apps.common.errors import SibylError


class RunTimeBudgetExceededError(SibylError):
    """The run's time budget (``RUN_TIME_BUDGET_S``) ran out: the run is failed, and no order
    is created or sent after it."""


@dataclass(frozen=True)
class Deadline:
    """A time budget of ``budget_s`` seconds that began at ``started`` (``time.monotonic()``)."""

    budget_s: float
    started: float

    @classmethod
    def start(cls, budget_s: float) -> "Deadline":
        """A deadline ``budget_s`` seconds (> 0) from now; raises ValueError for a budget ≤ 0."""
        if not budget_s > 0:
            raise ValueError(f"a time budget must be positive, got {budget_s} s")
        return cls(budget_s=float(budget_s), started=time.monotonic())

    def elapsed_s(self) -> float:
        """Seconds since the budget began."""
        return time.monotonic() - self.started

    def remaining_s(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        return self.budget_s - self.elapsed_s()

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.remaining_s() <= 0


_current: ContextVar[Deadline | None] = ContextVar("run_deadline", default=None)


@contextmanager
def deadline_scope(deadline: Deadline) -> Iterator[Deadline]:
    """Make ``deadline`` the current one for the block (this thread's context only)."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def current_deadline() -> Deadline | None:
    """The deadline in scope, or None outside a run."""
    return _current.get()


def deadline_check(what: str) -> None:
    """Check, before ``what`` (e.g. "step llm"), that the current deadline has not passed;
    nothing to check outside a run.

    Raises RunTimeBudgetExceededError when it has.
    """
    time_left(0.0, what)


def time_left(timeout_s: float, what: str) -> float:
    """``timeout_s`` (seconds) capped at the time left before the current deadline, for a
    blocking call described by ``what`` (e.g. "the model call"); ``timeout_s`` unchanged when
    no deadline is in scope.

    Raises RunTimeBudgetExceededError when the deadline has passed: the call must not start.
    """
    deadline = _current.get()
    if deadline is None:
        return timeout_s
    remaining = deadline.remaining_s()
    if remaining <= 0:
        raise RunTimeBudgetExceededError(
            f"run time budget of {deadline.budget_s:g} s used up before {what}"
        )
    return min(timeout_s, remaining)


def wait_allowed(wait_s: float, what: str) -> None:
    """Check that a wait of ``wait_s`` seconds (e.g. a pacing back-off) ends before the current
    deadline; nothing to check outside a run.

    Raises RunTimeBudgetExceededError when it would not: waiting past the budget is pointless,
    the run would fail after it anyway.
    """
    deadline = _current.get()
    if deadline is not None and wait_s >= deadline.remaining_s():
        raise RunTimeBudgetExceededError(
            f"run time budget of {deadline.budget_s:g} s would run out during a "
            f"{wait_s:.1f} s wait for {what}"
        )
