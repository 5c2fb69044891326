"""Strategy positions on a large history: the rebuild from fills, and the portfolio API.

Seeds the bench database once (marker: the strategy slug ``bench-positions``) with one paper
account traded by ten strategies in one symbol: 50,000 brackets (a run, an accepted signal and
three orders each), whose entry fills and whose take-profit or stop-loss fills make 100,000
fills, written with PostgreSQL COPY. Entries and exits interleave, so positions add up and
close over many lifetimes. Then:

- ``positions_rebuild_100k_fills_s``: ``positions_rebuild`` of the account from a state with
  no positions (every position, fill P&L and order link written);
- ``positions_rebuild_noop_100k_fills_s``: the same rebuild again, finding nothing to change;
- ``api_portfolio_ms_p50`` / ``_p95``: ``GET /api/v1/accounts/{id}/portfolio/`` on a second
  account holding 1,000 strategy positions (ten strategies), after WARMUP requests.
"""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import connection, transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.analysis.models import PromptTemplate
from apps.lineage.models import Run
from apps.marketdata.models import Bar
from apps.orders.models import Fill, Order
from apps.orders.position_rebuild import positions_rebuild
from apps.positions.models import StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account, AccountCash
from bench.api import (
    FILL_COLUMNS,
    ORDER_COLUMNS,
    RUN_COLUMNS,
    SIGNAL_COLUMNS,
    Row,
    _copy,
    _next_id,
    _percentiles,
    _reset_sequence,
)

MARKER = "bench-positions"
BRACKETS = 50_000
STRATEGIES = 10
PORTFOLIO_POSITIONS = 1_000
WARMUP = 20
REQUESTS = 200
START = datetime(2024, 1, 1, tzinfo=UTC)


def _user() -> User:
    user, _ = User.objects.get_or_create(
        username="bench-positions", defaults={"email": "bench-positions@example.test"}
    )
    return user


def _account(owner: User, name: str) -> Account:
    account, created = Account.objects.get_or_create(owner=owner, name=name)
    if created:
        AccountCash.objects.create(account=account, currency="USD", starting_cash=1_000_000)
    return account


def _strategies(owner: User, account: Account, symbol: Symbol, slug: str) -> list[Strategy]:
    template = PromptTemplate.objects.filter(
        owner=owner, name=MARKER
    ).first() or PromptTemplate.objects.create(
        owner=owner, author=owner, name=MARKER, version=1, body="{{ symbol.symbol }}"
    )
    return [
        Strategy.objects.create(
            name=f"{slug} {i}",
            slug=slug if i == 0 else f"{slug}-{i}",
            owner=owner,
            account=account,
            symbol=symbol,
            bar_size="1 hour",
            prompt_template=template,
            order_type="MKT",
            time_in_force="GTC",
        )
        for i in range(STRATEGIES)
    ]


def _seed_fills(strategies: list[Strategy]) -> None:
    """BRACKETS brackets, each an entry fill and one exit fill 7 brackets later in time."""
    run_id, signal_id, order_id, fill_id = (
        _next_id(Run),
        _next_id(Signal),
        _next_id(Order),
        _next_id(Fill),
    )
    runs: list[Row] = []
    signals: list[Row] = []
    orders: list[Row] = []
    fills: list[Row] = []
    account_id = strategies[0].account_id
    symbol_id = strategies[0].symbol_id
    for n in range(BRACKETS):
        strategy = strategies[n % STRATEGIES]
        at = START + timedelta(minutes=10 * n)
        buy = (n // STRATEGIES) % 3 != 2  # mostly long, some short lifetimes
        side, exit_side = ("BUY", "SELL") if buy else ("SELL", "BUY")
        entry = Decimal(100) + Decimal(n % 37) / 4
        stop, target = (entry - 5, entry + 10) if buy else (entry + 5, entry - 10)
        runs.append(
            (run_id, strategy.pk, "schedule", at, at, "succeeded", at, at, at, at, "", "", 1)
        )
        signals.append(
            (signal_id, strategy.pk, run_id, side, "LONG" if buy else "SHORT", Decimal("0.7"),
             entry, stop, target, Decimal("2"), "bench", "accepted", "[]", "[]", at, "", "open")
        )  # fmt: skip
        exit_role = "take_profit" if n % 2 else "stop_loss"
        parent = order_id
        for role, order_side, kind in (
            ("entry", side, "MKT"),
            ("take_profit", exit_side, "LMT"),
            ("stop_loss", exit_side, "STP"),
        ):
            filled = role in ("entry", exit_role)
            price = entry if role == "entry" else target if role == "take_profit" else stop
            orders.append(
                (order_id, run_id, signal_id, symbol_id, account_id, "paper", role, order_side,
                 kind, Decimal(10), price if kind == "LMT" else None,
                 price if kind == "STP" else None, "GTC", None if role == "entry" else parent,
                 f"bp-{run_id}-oca", f"bp-{run_id}-{role}", "", "filled" if filled else
                 "cancelled", Decimal(10) if filled else 0, price if filled else None,
                 Decimal(1) if filled else 0, 0, "", 1, at, at, at, at if filled else None,
                 None if filled else at, None, strategy.pk, "signal", 0)
            )  # fmt: skip
            if filled:
                executed = at if role == "entry" else at + timedelta(minutes=10 * 7 + 5)
                fills.append(
                    (fill_id, order_id, f"bp-exec-{fill_id}", executed, Decimal(10), price,
                     Decimal(1), 0, 0)
                )  # fmt: skip
                fill_id += 1
            order_id += 1
        run_id += 1
        signal_id += 1
    _copy(Run, RUN_COLUMNS, runs)
    _copy(Signal, SIGNAL_COLUMNS, signals)
    _copy(Order, ORDER_COLUMNS, orders)
    _copy(Fill, FILL_COLUMNS, fills)
    for model in (Run, Signal, Order, Fill):
        _reset_sequence(model)


def _seed_portfolio(strategies: list[Strategy]) -> None:
    """PORTFOLIO_POSITIONS strategy positions (a tenth open) and a day of hourly bars."""
    rows = []
    for n in range(PORTFOLIO_POSITIONS):
        strategy = strategies[n % STRATEGIES]
        is_open = n >= PORTFOLIO_POSITIONS - STRATEGIES  # one open position per strategy
        opened = START + timedelta(hours=n)
        realized = Decimal((n % 7) * 10 - 25)
        rows.append(
            StrategyPosition(
                account_id=strategy.account_id,
                strategy=strategy,
                symbol_id=strategy.symbol_id,
                side="LONG",
                status="open" if is_open else "closed",
                quantity=Decimal(10) if is_open else Decimal(0),
                average_cost=Decimal(100) if is_open else Decimal(0),
                realized_pnl=Decimal(0) if is_open else realized,
                commission=Decimal(2),
                entry_quantity=Decimal(10),
                entry_price=Decimal(100),
                exit_quantity=Decimal(0) if is_open else Decimal(10),
                exit_price=None if is_open else Decimal(100) + realized / 10,
                initial_risk=Decimal(50),
                r_multiple=None if is_open else realized / 50,
                outcome="" if is_open else "win" if realized > 0 else "loss",
                opened_at=opened,
                closed_at=None if is_open else opened + timedelta(minutes=30),
            )
        )
    StrategyPosition.objects.bulk_create(rows, batch_size=1_000)
    Bar.objects.bulk_create(
        Bar(
            symbol_id=strategies[0].symbol_id,
            bar_size="1 hour",
            ts=START + timedelta(hours=h),
            open=Decimal(100),
            high=Decimal(101),
            low=Decimal(99),
            close=Decimal(100) + Decimal(h) / 10,
            volume=1000,
        )
        for h in range(24)
    )


def seed() -> float:
    """Seed both accounts unless the marker strategy exists; returns the seconds it took."""
    if Strategy.objects.filter(slug=MARKER).exists():
        return 0.0
    began = time.perf_counter()
    with transaction.atomic():
        owner = _user()
        symbol, _ = Symbol.objects.get_or_create(
            symbol="BPOS",
            sec_type="STK",
            currency="USD",
            defaults={"timezone": "America/New_York"},
        )
        book, _ = Symbol.objects.get_or_create(
            symbol="BPRT",
            sec_type="STK",
            currency="USD",
            defaults={"timezone": "America/New_York"},
        )
        _seed_fills(_strategies(owner, _account(owner, "Bench fills"), symbol, MARKER))
        _seed_portfolio(
            _strategies(owner, _account(owner, "Bench portfolio"), book, f"{MARKER}-portfolio")
        )
    with connection.cursor() as cursor:
        for model in (Run, Signal, Order, Fill, StrategyPosition):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return round(time.perf_counter() - began, 2)


def _spoil(account: Account) -> None:
    """Forget the account's positions, so the rebuild writes every one of them again."""
    with transaction.atomic():
        Order.objects.filter(account=account).update(strategy_position=None, realized_pnl=0)
        Fill.objects.filter(order__account=account).update(realized_pnl=0, unattributed_quantity=0)
        StrategyPosition.objects.filter(account=account).delete()
    # Each run rewrites ~450,000 rows; a server with autovacuum (a production one) reclaims
    # them between runs, one without it (the test machines') grows every run slower: vacuum
    # here so that every run starts from the steady state, outside the measure.
    with connection.cursor() as cursor:
        for model in (Order, Fill, StrategyPosition):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def run() -> dict[str, float]:
    """Seed once, then time the rebuild (full and no-op) and the portfolio API."""
    seconds = seed()
    owner = _user()
    fills_account = Account.objects.get(owner=owner, name="Bench fills")
    _spoil(fills_account)
    began = time.perf_counter()
    full = positions_rebuild(account_ids=[fills_account.pk])
    rebuild_s = time.perf_counter() - began
    began = time.perf_counter()
    again = positions_rebuild(account_ids=[fills_account.pk])
    noop_s = time.perf_counter() - began
    assert full.changed and not again.changed, (full, again)
    with connection.cursor() as cursor:  # as the command does after replacing positions
        cursor.execute(f"ANALYZE {StrategyPosition._meta.db_table}")

    portfolio = Account.objects.get(owner=owner, name="Bench portfolio")
    client = APIClient(SERVER_NAME="localhost")
    token, _ = Token.objects.get_or_create(user=owner)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    url = f"/api/v1/accounts/{portfolio.pk}/portfolio/"
    samples = []
    for n in range(WARMUP + REQUESTS):
        began = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == 200, (response.status_code, response.content[:300])
        if n >= WARMUP:
            samples.append(elapsed)
    p50, p95 = _percentiles(samples)
    return {
        "positions_rebuild_100k_fills_s": round(rebuild_s, 2),
        "positions_rebuild_noop_100k_fills_s": round(noop_s, 2),
        "positions_rebuild_fills": float(full.fills_replayed),
        "positions_rebuild_positions": float(full.positions_created),
        "api_portfolio_ms_p50": p50,
        "api_portfolio_ms_p95": p95,
        "positions_bench_seed_s": seconds,
    }
