"""The historical-data pacing limiter with a fake clock: IBKR's three rules make it wait."""

import threading
import time

import pytest

from apps.ibkr.pacing import HistoricalRequestKey, PacingLimiter


class FakeClock:
    """Monotonic seconds that only move when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> PacingLimiter:
    return PacingLimiter(clock=clock, sleep=clock.sleep)


def key(
    contract: str = "208813720", duration: str = "10 D", end: str = "20120601"
) -> HistoricalRequestKey:
    return HistoricalRequestKey(
        contract=contract,
        exchange="SMART",
        end=end,
        duration=duration,
        bar_size="1 day",
        what_to_show="TRADES",
    )


def test_first_request_goes_at_once(limiter: PacingLimiter, clock: FakeClock) -> None:
    assert limiter.acquire(key()) == 0.0
    assert clock.sleeps == []


def test_identical_request_waits_15_seconds(limiter: PacingLimiter, clock: FakeClock) -> None:
    limiter.acquire(key())
    clock.advance(3.0)
    # a different duration is not identical: no wait (5 s later, past the 2 s burst window)
    clock.advance(2.0)
    assert limiter.acquire(key(duration="11 D")) == 0.0
    # the identical one waits until 15 s after the first
    waited = limiter.acquire(key())
    assert waited == pytest.approx(10.0)
    assert clock.now == pytest.approx(1015.0)


def test_seventh_request_for_one_contract_in_two_seconds_waits(
    limiter: PacingLimiter, clock: FakeClock
) -> None:
    for n in range(6):
        assert limiter.acquire(key(end=f"2012060{n}")) == 0.0
        clock.advance(0.1)
    # another contract is not held back
    assert limiter.acquire(key(contract="12087792")) == 0.0
    # the 7th for the same contract waits until 2 s after the first of the six
    waited = limiter.acquire(key(end="20120607"))
    assert waited == pytest.approx(2.0 - 0.6)
    assert clock.now == pytest.approx(1002.0)


def test_sixty_first_request_in_ten_minutes_waits(limiter: PacingLimiter, clock: FakeClock) -> None:
    for n in range(60):
        assert limiter.acquire(key(contract=f"c{n}")) == 0.0
        clock.advance(5.0)  # 60 requests over 300 s
    waited = limiter.acquire(key(contract="c60"))
    # the oldest of the 60 was at 1000 s: the 61st goes at 1600 s
    assert waited == pytest.approx(300.0)
    assert clock.now == pytest.approx(1600.0)
    # then the window slides: the next waits for the second-oldest to age out
    assert limiter.acquire(key(contract="c61")) == pytest.approx(5.0)


def test_back_off_holds_every_request_and_withdraws_the_rejected_one(
    limiter: PacingLimiter, clock: FakeClock
) -> None:
    limiter.acquire(key())
    limiter.back_off(0.5, key())
    # the retry of the rejected request waits only for the back-off, not the 15 s rule
    assert limiter.acquire(key()) == pytest.approx(0.5)
    assert limiter.acquire(key(contract="other")) == 0.0


def test_concurrent_threads_share_the_limit() -> None:
    # real clock, tiny windows: 4 threads x 3 requests with at most 2 per 0.05 s
    limiter = PacingLimiter(same_contract_limit=2, same_contract_window_s=0.05)
    admitted: list[float] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(3):
            limiter.acquire(key(end=f"{n}-{i}"))
            with lock:
                admitted.append(time.monotonic())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    admitted.sort()
    assert len(admitted) == 12
    # any 3 consecutive admissions span at least the window
    assert all(admitted[i + 2] - admitted[i] >= 0.05 - 0.005 for i in range(len(admitted) - 2))
