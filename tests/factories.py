"""factory_boy factories for Sibyl's models."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import User

from apps.analysis.models import LlmEndpoint, PromptScore, PromptTemplate
from apps.lineage.models import Run
from apps.marketdata.models import Bar
from apps.orders.models import Fill
from apps.positions.models import StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account, AccountCash
from apps.trading.services import account_default_for

SIMPLE_TEMPLATE = (
    "{{ symbol.symbol }} {{ bar_size }} as of {{ as_of }}: last close {{ bars.last.close }}; "
    "{% for key, value in indicators.items() %}{{ key }}={{ value }} {% endfor %}"
)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("sibyl-test-password")


class SymbolFactory(factory.django.DjangoModelFactory[Symbol]):
    class Meta:
        model = Symbol

    symbol = factory.Sequence(lambda n: f"SYM{n}")
    sec_type = "STK"
    exchange = "SMART"
    currency = "USD"
    timezone = "America/New_York"
    min_tick = Decimal("0.01")


class PromptTemplateFactory(factory.django.DjangoModelFactory[PromptTemplate]):
    class Meta:
        model = PromptTemplate

    owner = None  # the operator's; pass owner=user for a user's template
    author = factory.SelfAttribute("owner")
    name = factory.Sequence(lambda n: f"template-{n}")
    version = 1
    body = SIMPLE_TEMPLATE


class LlmEndpointFactory(factory.django.DjangoModelFactory[LlmEndpoint]):
    """An operator endpoint (no owner) unless ``owner`` is given; saved without the URL check
    (tests point endpoints at loopback servers they start)."""

    class Meta:
        model = LlmEndpoint

    name = factory.Sequence(lambda n: f"endpoint-{n}")
    owner = None
    base_url = "https://llm.example.test/v1"
    api_key = ""


class AccountFactory(factory.django.DjangoModelFactory[Account]):
    """A paper account of ``owner`` (default: the operator's) in netting mode with USD
    1,000,000 of starting cash; the conflict policy is the model's default."""

    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    owner = None
    broker = "paper"

    @factory.post_generation
    def cash(obj: Account, create: bool, extracted: dict[str, Decimal] | None, **_: Any) -> None:
        if not create:
            return
        for currency, amount in (extracted or {"USD": Decimal("1000000")}).items():
            AccountCash.objects.create(account=obj, currency=currency, starting_cash=amount)


def ibkr_account_for(owner: User | None) -> Account:
    """The owner's IBKR paper account (``DU…``; the operator's for None), created when
    missing."""
    account, _ = Account.objects.get_or_create(
        broker="ibkr",
        broker_account_id=f"DU{9000000 + (owner.pk if owner else 0)}",
        defaults={"name": "IBKR paper", "owner": owner},
    )
    return account


class StrategyFactory(factory.django.DjangoModelFactory[Strategy]):
    """A strategy trading its owner's default paper account (created when missing), or, when
    live, the owner's IBKR paper account."""

    class Meta:
        model = Strategy

    name = factory.Sequence(lambda n: f"Strategy {n}")
    slug = factory.Sequence(lambda n: f"strategy-{n}")
    owner = None
    account = factory.LazyAttribute(
        lambda o: (
            ibkr_account_for(o.owner)
            if o.trading_mode == "live"
            else account_default_for(owner=o.owner)
        )
    )
    symbol = factory.SubFactory(SymbolFactory)
    bar_size = "1 day"
    lookback = 200
    indicators = factory.LazyFunction(lambda: [{"name": "RSI"}, {"name": "MACD"}])
    # The strategy's owner owns its template (a strategy uses its owner's templates).
    prompt_template = factory.SubFactory(
        PromptTemplateFactory, owner=factory.SelfAttribute("..owner")
    )
    analyst = "baseline"
    capital = Decimal("100000")
    risk_per_trade_pct = Decimal("1")
    max_position_quantity = Decimal("1000")
    max_order_notional = Decimal("1000000")
    min_confidence = Decimal("0.6")
    min_reward_risk = Decimal("1.5")
    max_entry_deviation_pct = Decimal("2")
    order_type = "MKT"
    time_in_force = "GTC"
    trading_mode = "paper"


class RunFactory(factory.django.DjangoModelFactory[Run]):
    """A pending manual run of a new strategy as of 2012-06-01 (no steps, not executed)."""

    class Meta:
        model = Run

    strategy = factory.SubFactory(StrategyFactory)
    trigger = "manual"
    as_of = datetime(2012, 6, 1, tzinfo=UTC)


class SignalFactory(factory.django.DjangoModelFactory[Signal]):
    """An accepted BUY signal of its run's strategy: confidence 0.8, entry 100, stop 95,
    target 110 (prices in the symbol's currency); no checks are run."""

    class Meta:
        model = Signal

    run = factory.SubFactory(RunFactory)
    strategy = factory.SelfAttribute("run.strategy")
    action = "BUY"
    confidence = Decimal("0.8")
    entry = Decimal("100")
    stop_loss = Decimal("95")
    take_profit = Decimal("110")
    status = "accepted"


class FillFactory(factory.django.DjangoModelFactory[Fill]):
    """An execution of ``order`` (required): 10 at 100 at 2012-06-01, no commission."""

    class Meta:
        model = Fill

    execution_id = factory.Sequence(lambda n: f"exec-{n}")
    executed_at = datetime(2012, 6, 1, tzinfo=UTC)
    quantity = Decimal("10")
    price = Decimal("100")


class StrategyPositionFactory(factory.django.DjangoModelFactory[StrategyPosition]):
    """An open LONG position of a new strategy in its symbol on its account: 10 at an
    average cost of 100, opened 2012-06-01."""

    class Meta:
        model = StrategyPosition

    strategy = factory.SubFactory(StrategyFactory)
    account = factory.SelfAttribute("strategy.account")
    symbol = factory.SelfAttribute("strategy.symbol")
    side = "LONG"
    quantity = Decimal("10")
    average_cost = Decimal("100")
    entry_quantity = Decimal("10")
    entry_price = Decimal("100")
    opened_at = datetime(2012, 6, 1, tzinfo=UTC)


class PromptScoreFactory(factory.django.DjangoModelFactory[PromptScore]):
    """An operator-wide score of a new template computed 2024-01-01: no signals, no trades."""

    class Meta:
        model = PromptScore

    template = factory.SubFactory(PromptTemplateFactory)
    owner = None
    computed_at = datetime(2024, 1, 1, tzinfo=UTC)
    signals = 0
    closed_trades = 0


class BarFactory(factory.django.DjangoModelFactory[Bar]):
    """A flat daily bar of a new symbol at 2012-06-01: open = high = low = close = 100,
    volume 1000 (``make_bars`` stores a series)."""

    class Meta:
        model = Bar

    symbol = factory.SubFactory(SymbolFactory)
    bar_size = "1 day"
    ts = datetime(2012, 6, 1, tzinfo=UTC)
    open = Decimal("100")
    high = Decimal("100")
    low = Decimal("100")
    close = Decimal("100")
    volume = Decimal("1000")


def make_bars(
    symbol: Symbol,
    closes: list[float],
    *,
    start: datetime = datetime(2020, 1, 1, tzinfo=UTC),
    bar_size: str = "1 day",
    step: timedelta = timedelta(days=1),
    spread: float = 1.0,
) -> list[Bar]:
    """Store one bar per close: open at the previous close, high/low ``spread`` beyond."""
    bars = []
    previous = closes[0]
    for index, close in enumerate(closes):
        low, high = min(previous, close) - spread, max(previous, close) + spread
        bars.append(
            Bar(
                symbol=symbol,
                bar_size=bar_size,
                ts=start + index * step,
                open=Decimal(str(round(previous, 4))),
                high=Decimal(str(round(high, 4))),
                low=Decimal(str(round(low, 4))),
                close=Decimal(str(round(close, 4))),
                volume=Decimal(1000),
            )
        )
        previous = close
    return Bar.objects.bulk_create(bars)


def decision_answer(**overrides: Any) -> dict[str, Any]:
    """A model's JSON decision for GOOG as of 2012-06-01 (last close 580.86): BUY, stop 570,
    target 600 (reward/risk 1.76), confidence 0.8; ``overrides`` replace fields."""
    answer = {
        "action": "BUY",
        "confidence": 0.8,
        "entry": 580.86,
        "stop_loss": 570.0,
        "take_profit": 600.0,
        "horizon": "5 bars",
        "reasoning": "test",
    }
    return {**answer, **overrides}
