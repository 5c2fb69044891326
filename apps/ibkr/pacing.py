"""Historical-data pacing: wait before a reqHistoricalData that IBKR would reject.

Source: TWS API documentation, "Historical Data Limitations" (pacing violations for small
bars). A request is a pacing violation (TWS error 162 "Historical data request pacing
violation") when it is

* identical to one made within the last 15 seconds (same contract, endDateTime, durationStr,
  barSizeSetting and whatToShow);
* the next of six or more requests for the same contract, exchange and tick type
  (whatToShow) within two seconds — Sibyl admits at most ``same_contract_limit`` (6) per
  two seconds;
* more than 60 requests within any ten-minute period.

``PacingLimiter.acquire`` sleeps until a request is allowed instead of failing. After TWS
nevertheless reports a violation, ``back_off`` holds every request back for a while.

The limiter is per process: several worker processes sharing one TWS / IB Gateway (one
login) share IBKR's limits but not this limiter, so with N processes keep each one's rate
well under the limits (or give each process its own clientId and a fraction of the budget).
"""

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from apps.common.deadlines import wait_allowed

IDENTICAL_WINDOW_S = 15.0
SAME_CONTRACT_LIMIT = 6
SAME_CONTRACT_WINDOW_S = 2.0
TOTAL_LIMIT = 60
TOTAL_WINDOW_S = 600.0


@dataclass(frozen=True)
class HistoricalRequestKey:
    """What IBKR's pacing rules compare: the contract (conId, or a listing text when there is
    none), its exchange, the request's endDateTime, durationStr, barSizeSetting and whatToShow
    (the tick type). All values are the strings sent to TWS."""

    contract: str
    exchange: str
    end: str
    duration: str
    bar_size: str
    what_to_show: str

    @property
    def contract_key(self) -> tuple[str, str, str]:
        """Contract, exchange and tick type: the scope of the six-per-two-seconds rule."""
        return (self.contract, self.exchange, self.what_to_show)


class PacingLimiter:
    """A thread-safe limiter for reqHistoricalData following IBKR's pacing rules (module
    docstring). Windows are in seconds; ``clock`` returns monotonic seconds and ``sleep``
    waits (both injectable, so tests run with a fake clock).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        identical_window_s: float = IDENTICAL_WINDOW_S,
        same_contract_limit: int = SAME_CONTRACT_LIMIT,
        same_contract_window_s: float = SAME_CONTRACT_WINDOW_S,
        total_limit: int = TOTAL_LIMIT,
        total_window_s: float = TOTAL_WINDOW_S,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.identical_window_s = identical_window_s
        self.same_contract_limit = same_contract_limit
        self.same_contract_window_s = same_contract_window_s
        self.total_limit = total_limit
        self.total_window_s = total_window_s
        self._lock = threading.Lock()
        self._identical: dict[HistoricalRequestKey, float] = {}
        self._by_contract: dict[tuple[str, str, str], deque[float]] = {}
        self._all: deque[float] = deque()
        self._blocked_until = 0.0

    def acquire(self, key: HistoricalRequestKey) -> float:
        """Wait until a request ``key`` is allowed, record it as made now, and return the
        seconds waited (0.0 when it was allowed at once). Never raises for pacing; within a
        run, raises RunTimeBudgetExceededError instead of waiting past the run's deadline
        (``apps.common.deadlines``)."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                delay = self._delay(key, now)
                if delay <= 0:
                    self._record(key, now)
                    return waited
            wait_allowed(delay, "IBKR historical-data pacing")
            self._sleep(delay)
            waited += delay

    def back_off(self, seconds: float, key: HistoricalRequestKey | None = None) -> None:
        """Hold every request back for ``seconds`` from now (after TWS reported error 162
        pacing violation anyway, e.g. because another process used the same login).

        ``key``, the rejected request, is withdrawn from the identical-request record: TWS did
        not serve it, so its retry is not a repeat of served data.
        """
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)
            if key is not None:
                self._identical.pop(key, None)

    def reset(self) -> None:
        """Forget every recorded request and back-off."""
        with self._lock:
            self._identical.clear()
            self._by_contract.clear()
            self._all.clear()
            self._blocked_until = 0.0

    def _delay(self, key: HistoricalRequestKey, now: float) -> float:
        self._forget_old(now)
        delays = [self._blocked_until - now]
        last_identical = self._identical.get(key)
        if last_identical is not None:
            delays.append(last_identical + self.identical_window_s - now)
        recent = self._by_contract.get(key.contract_key)
        if recent is not None and len(recent) >= self.same_contract_limit:
            delays.append(recent[-self.same_contract_limit] + self.same_contract_window_s - now)
        if len(self._all) >= self.total_limit:
            delays.append(self._all[-self.total_limit] + self.total_window_s - now)
        return max(delays)

    def _record(self, key: HistoricalRequestKey, now: float) -> None:
        self._identical[key] = now
        self._by_contract.setdefault(key.contract_key, deque()).append(now)
        self._all.append(now)

    def _forget_old(self, now: float) -> None:
        for key, moment in list(self._identical.items()):
            if now - moment >= self.identical_window_s:
                del self._identical[key]
        for contract, moments in list(self._by_contract.items()):
            while moments and now - moments[0] >= self.same_contract_window_s:
                moments.popleft()
            if not moments:
                del self._by_contract[contract]
        while self._all and now - self._all[0] >= self.total_window_s:
            self._all.popleft()


_limiter = PacingLimiter()


def historical_limiter() -> PacingLimiter:
    """This process's limiter for historical-data requests (shared by all its threads)."""
    return _limiter


def _new_limiter_after_fork() -> None:
    # A forked child (Celery prefork) must not inherit a lock held by another thread.
    global _limiter
    _limiter = PacingLimiter()


os.register_at_fork(after_in_child=_new_limiter_after_fork)
