"""One bar per session (week, month): how a daily bar's session is found, and a run whose
window holds two bars of one session fails its data step with both times named."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from apps.marketdata.bar_checks import BarValidationError, bar_session, validate_one_bar_per_session
from apps.pipeline.executor import strategy_run
from apps.symbols.calendars import session_date
from apps.symbols.models import Symbol
from tests.factories import BarFactory, StrategyFactory, SymbolFactory

AS_OF = datetime(2012, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "trading_calendar", "timezone", "session"),
    [
        # Sibyl's convention: 00:00 UTC of the session date, whatever the exchange.
        (datetime(2024, 1, 3, tzinfo=UTC), "", "America/New_York", date(2024, 1, 3)),
        (datetime(2024, 1, 3, tzinfo=UTC), "XNYS", "UTC", date(2024, 1, 3)),
        (datetime(2024, 1, 4, tzinfo=UTC), "XTKS", "UTC", date(2024, 1, 4)),
        # Plain dates imported with --tz: local midnight, the date in the exchange's zone.
        (datetime(2024, 1, 3, 5, tzinfo=UTC), "", "America/New_York", date(2024, 1, 3)),
        (datetime(2024, 7, 3, 4, tzinfo=UTC), "XNYS", "UTC", date(2024, 7, 3)),
        (datetime(2024, 1, 3, 15, tzinfo=UTC), "XTKS", "UTC", date(2024, 1, 4)),
        # Stamped with the open: the session that minute trades in.
        (datetime(2024, 1, 3, 14, 30, tzinfo=UTC), "XNYS", "UTC", date(2024, 1, 3)),
        # CME's session of 4 January opens at 17:00 Chicago on the 3rd.
        (datetime(2024, 1, 3, 23, 30, tzinfo=UTC), "CMES", "UTC", date(2024, 1, 4)),
    ],
)
def test_session_date_of_a_daily_bar(
    moment: datetime, trading_calendar: str, timezone: str, session: date
) -> None:
    assert (
        session_date(trading_calendar=trading_calendar, timezone=timezone, moment=moment) == session
    )


def test_weekly_and_monthly_bars_stand_for_their_week_and_month() -> None:
    fields = {"trading_calendar": "", "timezone": "UTC"}
    sunday = datetime(2024, 1, 7, 5, tzinfo=UTC)
    assert bar_session(sunday, bar_size="1 week", **fields) == "week 2024-W01"
    assert bar_session(sunday, bar_size="1 month", **fields) == "month 2024-01"
    assert bar_session(sunday, bar_size="1 day", **fields) == "session 2024-01-07"
    assert bar_session(sunday, bar_size="1 hour", **fields) is None


def test_intraday_bars_are_not_grouped_by_session() -> None:
    stamps = [datetime(2024, 1, 2, 0, tzinfo=UTC), datetime(2024, 1, 2, 4, tzinfo=UTC)]
    validate_one_bar_per_session(stamps, bar_size="1 hour", trading_calendar="", timezone="UTC")
    with pytest.raises(BarValidationError, match="one 1 day bar per session expected: 2 bars"):
        validate_one_bar_per_session(stamps, bar_size="1 day", trading_calendar="", timezone="UTC")


@pytest.mark.django_db
@pytest.mark.parametrize("trading_calendar", ["", "XNAS"])
def test_two_bars_of_one_session_fail_the_data_step(goog: Symbol, trading_calendar: str) -> None:
    # given the 2012-05-30 session stored twice: 00:00 UTC and New York midnight (04:00 UTC)
    goog.trading_calendar = trading_calendar
    goog.save()
    BarFactory.create(
        symbol=goog,
        bar_size="1 day",
        ts=datetime(2012, 5, 30, 4, tzinfo=UTC),
        **{name: Decimal("580") for name in ("open", "high", "low", "close")},
        volume=Decimal("1000"),
    )
    # when a run's window includes that session
    run = strategy_run(strategy=StrategyFactory.create(symbol=goog), as_of=AS_OF, trigger="manual")
    # then it fails at the data step, the error naming the session and both bars
    assert run.status == "failed"
    step = run.steps.get(name="data")
    assert (step.status, step.error_type) == ("failed", "BarValidationError")
    assert step.error_message == (
        "one 1 day bar per session expected: 2 bars in session 2012-05-30:"
        " 2012-05-30T00:00:00+00:00, 2012-05-30T04:00:00+00:00"
    )
    assert not run.steps.filter(name="indicators").exists()


@pytest.mark.django_db
def test_no_bars_error_names_the_security_type_and_bar_size(goog: Symbol) -> None:
    # given EUR.USD has bars but the strategy trades an EUR STK symbol created by mistake
    SymbolFactory.create(symbol="EUR", sec_type="CASH", currency="USD")
    stock = SymbolFactory.create(symbol="EUR", sec_type="STK", currency="USD")
    run = strategy_run(strategy=StrategyFactory.create(symbol=stock), as_of=AS_OF, trigger="manual")
    step = run.steps.get(name="data")
    assert (run.status, step.error_type) == ("failed", "NotEnoughBarsError")
    assert step.error_message.startswith("0 1 day bar(s) of EUR STK USD closed by 2012-06-01")
    assert step.input["sec_type"] == "STK"
