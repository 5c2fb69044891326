"""The paper broker's bar-replay fill rules (pure: no database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.marketdata.bar_checks import OhlcvRow
from apps.orders.paper_fills import (
    FillConfig,
    SimOrder,
    SimVersion,
    order_fill_price,
    simulate_bracket,
)

D = Decimal
MONDAY = datetime(2020, 1, 6, tzinfo=UTC)
# One tick of slippage, IBKR-style commission: $0.005 a share, $1 minimum, at most 1 % of value.
CONFIG = FillConfig(
    tick=D("0.01"),
    slippage_ticks=1,
    commission_per_unit=D("0.005"),
    commission_min=D("1.00"),
    commission_max_pct=D("1.0"),
)


def bar(
    day: int, open_: str, high: str, low: str, close: str, *, start: datetime = MONDAY
) -> OhlcvRow:
    """A daily bar ``day`` days after ``start``."""
    return OhlcvRow(start + timedelta(days=day), D(open_), D(high), D(low), D(close), D(1000))


def order(
    ref: str,
    side: str,
    order_type: str,
    *,
    role: str = "entry",
    quantity: str = "100",
    limit: str | None = None,
    stop: str | None = None,
    tif: str = "GTC",
) -> SimOrder:
    return SimOrder(
        ref=ref,
        role=role,
        side=side,
        order_type=order_type,
        quantity=D(quantity),
        limit_price=D(limit) if limit is not None else None,
        stop_price=D(stop) if stop is not None else None,
        time_in_force=tif,
    )


def long_bracket(
    entry_type: str = "MKT", *, limit: str | None = None, tif: str = "GTC"
) -> tuple[SimOrder, list[SimOrder]]:
    """Buy 100, take profit at 110, stop at 95."""
    parent = order("entry", "BUY", entry_type, limit=limit, tif=tif)
    children = [
        order("tp", "SELL", "LMT", role="take_profit", limit="110"),
        order("sl", "SELL", "STP", role="stop_loss", stop="95"),
    ]
    return parent, children


def short_bracket() -> tuple[SimOrder, list[SimOrder]]:
    """Sell 100 at market, take profit at 90, stop at 105."""
    parent = order("entry", "SELL", "MKT")
    children = [
        order("tp", "BUY", "LMT", role="take_profit", limit="90"),
        order("sl", "BUY", "STP", role="stop_loss", stop="105"),
    ]
    return parent, children


def statuses(orders: list[SimOrder]) -> list[str]:
    return [o.status for o in orders]


# --- market entries -------------------------------------------------------------------------


def test_market_buy_fills_at_the_first_bar_open_plus_slippage() -> None:
    parent, children = long_bracket()
    bars = [bar(0, "100", "101", "99", "100.5"), bar(1, "100.5", "102", "100", "101")]

    result = simulate_bracket(parent, children, bars, CONFIG)

    # open 100 + 1 tick against the buyer; commission max(1, 0.005 × 100 = 0.5) = 1.00
    assert result.fills[0] == ("entry", bars[0].ts, D("100"), D("100.01"), D("1.0000"))
    assert parent.status == "filled"
    assert parent.fill_time == bars[0].ts


def test_market_sell_fills_at_the_first_bar_open_minus_slippage() -> None:
    parent, children = short_bracket()
    bars = [bar(0, "100", "101", "99", "100.5")]

    result = simulate_bracket(parent, children, bars, CONFIG)

    # open 100 − 1 tick against the seller
    assert result.fills == [("entry", bars[0].ts, D("100"), D("99.99"), D("1.0000"))]


@pytest.mark.parametrize(("side", "expected"), [("BUY", "100.15"), ("SELL", "99.85")])
def test_slippage_is_ticks_times_tick_against_the_trader(side: str, expected: str) -> None:
    config = FillConfig(
        tick=D("0.05"),
        slippage_ticks=3,
        commission_per_unit=D("0"),
        commission_min=D("0"),
        commission_max_pct=D("1"),
    )
    price = order_fill_price(order("x", side, "MKT"), bar(0, "100", "101", "99", "100"), config)
    assert price == D(expected)  # 100 ± 3 × 0.05


def test_no_bars_leaves_the_bracket_working() -> None:
    parent, children = long_bracket()
    result = simulate_bracket(parent, children, [], CONFIG)
    assert result.fills == []
    assert statuses([parent, *children]) == ["submitted", "submitted", "submitted"]


# --- limit entries --------------------------------------------------------------------------


def test_limit_buy_waits_until_the_range_reaches_the_limit_and_fills_at_the_limit() -> None:
    # given a buy limit at 98 and a first bar that stays above it
    parent, children = long_bracket("LMT", limit="98")
    bars = [bar(0, "100", "101", "98.5", "99"), bar(1, "99", "99.5", "97", "97.5")]

    # when the bars are replayed
    result = simulate_bracket(parent, children, bars, CONFIG)

    # then it fills on the second bar, at the limit (no slippage on limits)
    assert result.fills[0][:4] == ("entry", bars[1].ts, D("100"), D("98"))


def test_limit_buy_fills_at_the_open_when_the_bar_gaps_below_the_limit() -> None:
    parent, children = long_bracket("LMT", limit="98")
    bars = [bar(0, "97", "97.5", "96", "97")]

    result = simulate_bracket(parent, children, bars, CONFIG)

    assert result.fills[0][3] == D("97")  # better than the limit: min(open 97, limit 98)


def test_limit_sell_fills_at_the_limit_when_the_high_reaches_it() -> None:
    # (a parent without children: the replay used to stop after the first bar)
    parent = order("entry", "SELL", "LMT", limit="102")
    bars = [bar(0, "100", "101.99", "99", "101"), bar(1, "101", "102", "100", "101")]

    result = simulate_bracket(parent, [], bars, CONFIG)

    assert result.fills[0][1:4] == (bars[1].ts, D("100"), D("102"))


def test_limit_sell_fills_at_the_open_when_the_bar_gaps_above_the_limit() -> None:
    parent = order("entry", "SELL", "LMT", limit="102")
    bars = [bar(0, "103.5", "104", "103", "103")]

    result = simulate_bracket(parent, [], bars, CONFIG)

    assert result.fills[0][3] == D("103.5")  # max(open 103.5, limit 102)


@pytest.mark.parametrize(
    ("side", "limit"), [("BUY", "98.99"), ("SELL", "101.01")], ids=["buy", "sell"]
)
def test_a_limit_just_outside_the_range_does_not_fill(side: str, limit: str) -> None:
    limit_order = order("x", side, "LMT", limit=limit)
    assert order_fill_price(limit_order, bar(0, "100", "101", "99", "100"), CONFIG) is None


# --- stop-loss and take-profit children -----------------------------------------------------


def test_stop_loss_triggers_on_touch_and_fills_at_the_stop_less_slippage() -> None:
    # given a long filled on the first bar
    parent, (tp, sl) = long_bracket()
    bars = [
        bar(0, "100", "101", "99", "100"),
        bar(1, "100", "101", "95", "96"),  # low touches the 95 stop exactly
    ]

    # when
    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    # then the stop sells at 95 − 0.01 and the take-profit is cancelled as its OCA sibling
    assert result.fills[1] == ("sl", bars[1].ts, D("100"), D("94.99"), D("1.0000"))
    assert (sl.status, tp.status) == ("filled", "cancelled")
    assert tp.reason == "OCA: sl filled"


def test_a_gap_through_the_stop_fills_at_the_open_less_slippage() -> None:
    parent, (tp, sl) = long_bracket()
    bars = [bar(0, "100", "101", "99", "100"), bar(1, "92", "93", "91", "92.5")]

    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    assert result.fills[1][3] == D("91.99")  # min(open 92, stop 95) − 0.01


def test_short_stop_triggers_on_the_high_and_fills_above_the_stop() -> None:
    parent, (tp, sl) = short_bracket()
    bars = [bar(0, "100", "101", "99", "100"), bar(1, "101", "105", "100", "104")]

    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    assert result.fills[1][:4] == ("sl", bars[1].ts, D("100"), D("105.01"))
    assert tp.status == "cancelled"


def test_short_stop_gapped_through_fills_at_the_open_plus_slippage() -> None:
    parent, (tp, sl) = short_bracket()
    bars = [bar(0, "100", "101", "99", "100"), bar(1, "107", "108", "106", "107")]

    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    assert result.fills[1][3] == D("107.01")  # max(open 107, stop 105) + 0.01


def test_take_profit_fills_like_a_limit_and_cancels_the_stop() -> None:
    parent, (tp, sl) = long_bracket()
    bars = [
        bar(0, "100", "101", "99", "100"),
        bar(1, "100", "105", "99", "104"),  # neither child
        bar(2, "104", "110.5", "103", "110"),  # reaches the 110 target
        bar(3, "110", "111", "80", "85"),  # would stop out, but the bracket is done
    ]

    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    assert [f[0] for f in result.fills] == ["entry", "tp"]
    assert result.fills[1][1:4] == (bars[2].ts, D("100"), D("110"))
    assert (tp.status, sl.status) == ("filled", "cancelled")
    assert sl.reason == "OCA: tp filled"


def test_short_take_profit_fills_at_the_open_when_gapped_below_the_target() -> None:
    parent, (tp, sl) = short_bracket()
    bars = [bar(0, "100", "101", "99", "100"), bar(1, "88", "89", "87", "88")]

    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    assert result.fills[1][:4] == ("tp", bars[1].ts, D("100"), D("88"))
    assert sl.status == "cancelled"


def test_children_never_fill_on_the_parent_fill_bar() -> None:
    # given a first bar whose range covers both the stop and the target
    parent, (tp, sl) = long_bracket()
    bars = [
        bar(0, "100", "115", "90", "100"),  # parent fills at its open; children not live yet
        bar(1, "100", "101", "99", "100"),  # children live, nothing touched
    ]

    # when
    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    # then only the parent filled and both children are still working
    assert [f[0] for f in result.fills] == ["entry"]
    assert (tp.status, sl.status) == ("submitted", "submitted")


def test_children_go_live_on_the_bar_after_a_late_limit_fill() -> None:
    parent, (tp, sl) = long_bracket("LMT", limit="98")
    bars = [
        bar(0, "100", "101", "99", "100"),  # limit not reached, children not live
        bar(1, "99", "99", "90", "91"),  # limit fills at 98; the same bar's 90 low is ignored
        bar(2, "91", "92", "90", "91"),  # now the stop triggers
    ]

    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    assert [(f[0], f[1]) for f in result.fills] == [("entry", bars[1].ts), ("sl", bars[2].ts)]
    assert result.fills[1][3] == D("90.99")  # gapped: min(open 91, stop 95) − 0.01


def test_when_one_bar_touches_both_stop_and_target_the_stop_wins() -> None:
    parent, (tp, sl) = long_bracket()
    bars = [bar(0, "100", "101", "99", "100"), bar(1, "100", "111", "94", "105")]

    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    assert [f[0] for f in result.fills] == ["entry", "sl"]
    assert result.fills[1][3] == D("94.99")
    assert (sl.status, tp.status) == ("filled", "cancelled")


def test_stop_wins_whatever_order_the_children_are_given_in() -> None:
    parent, (tp, sl) = short_bracket()
    bars = [bar(0, "100", "101", "99", "100"), bar(1, "100", "106", "89", "100")]

    result = simulate_bracket(parent, [sl, tp], bars, CONFIG)

    assert [f[0] for f in result.fills] == ["entry", "sl"]
    assert tp.status == "cancelled"


def test_only_one_oca_child_ever_fills() -> None:
    parent, (tp, sl) = long_bracket()
    bars = [
        bar(0, "100", "101", "99", "100"),
        bar(1, "100", "112", "100", "111"),  # target
        bar(2, "111", "111", "50", "60"),  # far through the stop
    ]

    result = simulate_bracket(parent, [tp, sl], bars, CONFIG)

    assert len(result.fills) == 2
    assert result.orders["sl"].status == "cancelled"


# --- time in force --------------------------------------------------------------------------

NY_CONFIG = FillConfig(
    tick=D("0.01"),
    slippage_ticks=1,
    commission_per_unit=D("0.005"),
    commission_min=D("1.00"),
    commission_max_pct=D("1.0"),
    timezone="America/New_York",
)
# Hourly bars of Monday 2020-01-06 in New York (UTC−5): 09:30 .. 15:30 local.
MONDAY_OPEN_UTC = datetime(2020, 1, 6, 14, 30, tzinfo=UTC)


def hourly(hour: int, open_: str, high: str, low: str, close: str) -> OhlcvRow:
    """A bar ``hour`` hours after Monday's 09:30 New York open."""
    ts = MONDAY_OPEN_UTC + timedelta(hours=hour)
    return OhlcvRow(ts, D(open_), D(high), D(low), D(close), D(1000))


def quiet_monday() -> list[OhlcvRow]:
    """Seven Monday bars that never trade below 99."""
    return [hourly(h, "100", "101", "99", "100") for h in range(7)]


def test_day_parent_unfilled_on_its_first_day_is_cancelled_with_its_children() -> None:
    # given a DAY buy limit at 98 that Monday never reaches, and Tuesday trades through it
    parent, (tp, sl) = long_bracket("LMT", limit="98", tif="DAY")
    tuesday = hourly(24, "97", "98", "96", "97")

    # when
    result = simulate_bracket(parent, [tp, sl], [*quiet_monday(), tuesday], NY_CONFIG)

    # then nothing filled: the parent expired and took its children with it
    assert result.fills == []
    assert (parent.status, parent.reason) == ("cancelled", "DAY order expired unfilled")
    assert [(c.status, c.reason) for c in (tp, sl)] == [("cancelled", "parent cancelled")] * 2


def test_gtc_parent_keeps_working_after_its_first_day() -> None:
    parent, (tp, sl) = long_bracket("LMT", limit="98", tif="GTC")
    tuesday = hourly(24, "97", "98", "96", "97")

    result = simulate_bracket(parent, [tp, sl], [*quiet_monday(), tuesday], NY_CONFIG)

    assert result.fills == [("entry", tuesday.ts, D("100"), D("97"), D("1.0000"))]
    assert (tp.status, sl.status) == ("submitted", "submitted")


def test_day_order_keeps_working_until_its_first_day_ends_in_the_symbol_timezone() -> None:
    # given a bar at 00:30 UTC Tuesday, which is still Monday 19:30 in New York
    parent, children = long_bracket("LMT", limit="98", tif="DAY")
    monday_evening = OhlcvRow(
        datetime(2020, 1, 7, 0, 30, tzinfo=UTC), D("99"), D("99"), D("97.5"), D("98"), D(1000)
    )

    # when
    result = simulate_bracket(parent, children, [*quiet_monday(), monday_evening], NY_CONFIG)

    # then the order is still a Monday order in New York and fills
    assert parent.status == "filled"
    assert result.fills[0][1] == monday_evening.ts

    # and the same bars in UTC count as Tuesday, so the order expires instead
    parent_utc, children_utc = long_bracket("LMT", limit="98", tif="DAY")
    simulate_bracket(parent_utc, children_utc, [*quiet_monday(), monday_evening], CONFIG)
    assert parent_utc.status == "cancelled"


def test_day_market_parent_fills_on_its_first_bar() -> None:
    parent, children = long_bracket("MKT", tif="DAY")
    bars = [hourly(0, "100", "101", "99", "100"), hourly(24, "100", "101", "99", "100")]

    simulate_bracket(parent, children, bars, NY_CONFIG)

    assert parent.status == "filled"
    assert statuses(children) == ["submitted", "submitted"]


def test_children_of_a_filled_day_parent_are_gtc_and_survive_the_day() -> None:
    parent, (tp, sl) = long_bracket("MKT", tif="DAY")
    bars = [hourly(0, "100", "101", "99", "100"), hourly(48, "100", "101", "94", "95")]

    result = simulate_bracket(parent, [tp, sl], bars, NY_CONFIG)

    assert [f[0] for f in result.fills] == ["entry", "sl"]


# --- commission -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        # 10 × 0.005 = 0.05 → the $1 minimum; 1 % of 1000 = 10 does not bind
        ("10", "100", "1.0000"),
        # 1000 × 0.005 = 5.00 above the minimum; 1 % of 50 000 = 500 does not bind
        ("1000", "50", "5.0000"),
        # 333 × 0.005 = 1.665
        ("333", "20", "1.6650"),
        # the minimum 1.00 capped at 1 % of 100 × 0.50 = 50 → 0.50
        ("100", "0.50", "0.5000"),
        # 10 000 × 0.005 = 50 capped at 1 % of 10 000 × 0.20 = 2000 → 20
        ("10000", "0.20", "20.0000"),
    ],
    ids=["minimum", "per-unit", "per-unit-fraction", "cap-over-minimum", "cap-over-per-unit"],
)
def test_commission_is_per_unit_with_minimum_capped_at_a_percentage_of_value(
    quantity: str, price: str, expected: str
) -> None:
    assert CONFIG.commission(D(quantity), D(price)) == D(expected)


def test_fill_commission_is_charged_on_the_slipped_price() -> None:
    config = FillConfig(
        tick=D("0.01"),
        slippage_ticks=10,
        commission_per_unit=D("0.005"),
        commission_min=D("1"),
        commission_max_pct=D("1"),
    )
    parent = order("entry", "BUY", "MKT", quantity="200")
    result = simulate_bracket(parent, [], [bar(0, "0.40", "0.5", "0.3", "0.4")], config)

    # fill at 0.40 + 10 × 0.01 = 0.50; min 1.00 capped at 1 % of 200 × 0.50 = 100 → 1.00
    # (at the unslipped 0.40 the cap would be 0.80)
    assert result.fills[0][3:] == (D("0.50"), D("1.0000"))


def test_each_version_of_a_modified_stop_applies_from_its_own_time() -> None:
    # given a filled long whose stop was 95, raised to 99 from day 2 and to 97 from day 3 on,
    # its quantity 100 then 150 from day 2
    parent, children = long_bracket()
    stop = children[1]
    stop.versions = (
        SimVersion(MONDAY, D(100), None, D(95)),
        SimVersion(MONDAY + timedelta(days=2), D(150), None, D(99)),
        SimVersion(MONDAY + timedelta(days=3), D(150), None, D(97)),
    )
    bars = [
        bar(0, "100", "101", "99", "100"),  # entry fills at the open
        bar(1, "100", "101", "98.5", "100"),  # would reach 99, but 95 is in effect
        bar(2, "100", "101", "99.5", "100"),  # 99 in effect: not reached (low 99.5)
        bar(3, "100", "101", "98", "99"),  # 97 in effect: not reached; 99 would have been
        bar(4, "99", "100", "96.5", "97"),  # 97 reached
    ]

    result = simulate_bracket(parent, children, bars, CONFIG)

    # then it fills on day 4 at 97 less a tick, for the quantity in effect then
    assert result.fills[-1][:4] == ("sl", bars[4].ts, D(150), D("96.99"))
    assert result.orders["tp"].status == "cancelled"
