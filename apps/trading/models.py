"""Trading accounts: the unit of money and ownership every strategy trades through.

An account is a paper book (the embedded paper broker, one per user by default) or an account
at IBKR (``DU…`` is an IBKR paper account, ``U…`` a live one). Its position mode and conflict
policy decide how several strategies share one symbol; ``AccountSymbol`` overrides the policy
for one symbol and is the row the order step locks per (account, symbol).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class BrokerKind(models.TextChoices):
    PAPER = "paper", "embedded paper broker"
    IBKR = "ibkr", "Interactive Brokers"


class PositionMode(models.TextChoices):
    """How the account holds opposite positions in one symbol.

    ``netting``: one net position per symbol (IBKR, stock brokers). ``hedge``: LONG and SHORT
    held apart (a futures exchange's hedge mode; the paper broker keeps them apart, IBKR nets
    them and the strategies keep their sides virtually)."""

    NETTING = "netting"
    HEDGE = "hedge"


class OppositePolicy(models.TextChoices):
    """Netting mode: may one strategy open a side while another strategy holds or works the
    opposite side of the same symbol? (Hedge mode always allows it.)"""

    REJECT = "reject"
    ALLOW = "allow"


class SameDirectionPolicy(models.TextChoices):
    """Several strategies entering the same side of one symbol on one account."""

    ACCUMULATE = "accumulate", "accumulate (up to the account's max position per symbol)"
    REJECT_DUPLICATES = "reject_duplicates", "refuse while another strategy holds or works it"
    STRONGEST_WINS = "strongest_wins", "the higher confidence keeps an unfilled entry's slot"


def account_kind(*, broker: str, broker_account_id: str) -> str:
    """``paper`` or ``live``: the paper broker is paper; an IBKR account is paper when its id
    starts with ``DU`` (IBKR's paper trading accounts), live otherwise (``U…``, ``F…``, …)."""
    if broker != BrokerKind.IBKR:
        return "paper"
    return "paper" if broker_account_id.upper().startswith("DU") else "live"


def position_mode_change_refusal(*, account_id: int, stored: str, new: str) -> str:
    """Why the account's position mode may not change from ``stored`` to ``new`` now, or ""
    when it may (unchanged, or nothing open). Netting and hedge book the same fills into
    different positions (one net per symbol vs LONG and SHORT apart), so the mode changes only
    while no strategy position is open and no order is pending or working on the account."""
    if stored == new:
        return ""
    from apps.trading.selectors import account_exposure  # selectors read these models

    open_now = account_exposure(account_id=account_id)
    if not open_now:
        return ""
    return (
        f"position mode cannot change from {stored} to {new} while the account has open "
        f"strategy positions or working orders: {'; '.join(open_now)}. Close the positions "
        "and cancel the orders first."
    )


class TradingState(models.TextChoices):
    """What may go out (in the manner of Nautilus Trader's ``TradingState``):
    ``active`` everything; ``reducing`` only orders that reduce a position (closes, stops,
    targets) — entries are rejected with the reason; ``halted`` no order goes out (runs still
    analyse and record signals; cancels still go out)."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


# The more restrictive state wins when the global and the account's states differ.
TRADING_STATE_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class Account(models.Model):
    """A trading account; money in ``base_currency`` unless a field names another.

    ``owner`` None is the operator's account (staff only). Members may trade it (run their
    strategies on it); only staff assign IBKR accounts and their members.
    """

    name = models.CharField(max_length=128)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="trading_accounts",
        help_text="Who it belongs to; without one it is the operator's (staff only).",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="trading_account_memberships",
        help_text="Users who may trade it besides the owner.",
    )
    broker = models.CharField(max_length=8, choices=BrokerKind.choices, default=BrokerKind.PAPER)
    broker_account_id = models.CharField(
        max_length=32,
        blank=True,
        help_text="The broker's account id (IBKR: DU… paper, U… live); blank for the paper book.",
    )
    base_currency = models.CharField(max_length=3, default="USD")
    position_mode = models.CharField(
        max_length=8, choices=PositionMode.choices, default=PositionMode.NETTING
    )
    opposite_policy = models.CharField(
        max_length=8, choices=OppositePolicy.choices, default=OppositePolicy.REJECT
    )
    same_direction_policy = models.CharField(
        max_length=20, choices=SameDirectionPolicy.choices, default=SameDirectionPolicy.ACCUMULATE
    )
    max_position_per_symbol = models.DecimalField(
        max_digits=20,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Most shares/contracts/units all strategies together may hold or work on "
        "one side of a symbol; blank: no account limit (each strategy keeps its own).",
    )
    is_default = models.BooleanField(
        default=False, help_text="The owner's paper account new strategies trade by default."
    )
    paper_clock = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A backtest's paper account: the paper book fills its orders only on bars "
        "closed by this time (UTC); blank for every other account (all stored bars).",
    )
    trading_state = models.CharField(
        max_length=8,
        choices=TradingState.choices,
        default=TradingState.ACTIVE,
        help_text="active | reducing (only orders that reduce a position) | halted (no order "
        "goes out). Changed through trading_state_set, which records who and why.",
    )
    daily_loss_limit = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Automatic halt: the account is halted when its P&L since the start of the "
        "UTC day (realized + unrealized, base currency) loses this much; blank: off.",
    )
    max_drawdown_pct = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Automatic halt: the account is halted when its equity (base currency) falls "
        "this many percent (0–100) below its high-water mark; blank: off.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(broker__in=BrokerKind.values), name="account_broker_known"
            ),
            models.CheckConstraint(
                condition=Q(position_mode__in=PositionMode.values),
                name="account_position_mode_known",
            ),
            models.CheckConstraint(
                condition=Q(broker=BrokerKind.PAPER) | ~Q(broker_account_id=""),
                name="account_ibkr_has_account_id",
            ),
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(is_default=True),
                name="account_one_default_per_owner",
            ),
            models.UniqueConstraint(
                fields=["broker", "broker_account_id"],
                condition=~Q(broker_account_id=""),
                name="account_broker_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(daily_loss_limit__isnull=True) | Q(daily_loss_limit__gt=0),
                name="account_daily_loss_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_drawdown_pct__isnull=True)
                | Q(max_drawdown_pct__gt=0, max_drawdown_pct__lte=100),
                name="account_max_drawdown_pct_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Raise ValidationError on ``position_mode`` when it changes while the account has
        open strategy positions or unfinished orders (``position_mode_change_refusal``)."""
        super().clean()
        if self.pk is None:
            return
        stored = Account.objects.filter(pk=self.pk).values_list("position_mode", flat=True)
        refusal = position_mode_change_refusal(
            account_id=self.pk, stored=stored.first() or self.position_mode, new=self.position_mode
        )
        if refusal:
            raise ValidationError({"position_mode": refusal})

    @property
    def kind(self) -> str:
        """``paper`` or ``live`` (``account_kind``)."""
        return account_kind(broker=self.broker, broker_account_id=self.broker_account_id)

    @property
    def broker_key(self) -> str:
        """How the broker knows the account: the IBKR account id, or ``paper-<id>`` for the
        paper book (which keeps one book per account)."""
        return self.broker_account_id or f"paper-{self.pk}"


class AccountCash(models.Model):
    """A paper account's starting cash in one currency (currencies are never added)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="cash")
    currency = models.CharField(max_length=3)
    starting_cash = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["account", "currency"], name="account_cash_unique"),
            models.CheckConstraint(
                condition=Q(starting_cash__gte=0), name="account_cash_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.currency} {self.starting_cash}"


class AccountSymbol(models.Model):
    """One symbol on one account: per-symbol overrides of the account's conflict policy
    (blank = the account's), and the row the order step locks so two runs on the same
    (account, symbol) decide one after the other."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="symbols")
    symbol = models.ForeignKey("symbols.Symbol", on_delete=models.PROTECT, related_name="+")
    opposite_policy = models.CharField(
        max_length=8, choices=OppositePolicy.choices, blank=True, default=""
    )
    same_direction_policy = models.CharField(
        max_length=20, choices=SameDirectionPolicy.choices, blank=True, default=""
    )
    max_position_per_symbol = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True
    )

    class Meta:
        ordering = ["account", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="account_symbol_unique")
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.symbol_id}"


class TradingStateChange(models.Model):
    """One change of a trading state: of ``account``, or the global one (``account`` null).

    The latest global row is the global state (none: ``active``); an account's current state is
    also on ``Account.trading_state``. Who asked (a user, or nobody for an automatic trigger or
    a command), why, and from where (``source``: api, admin, command, trigger) are kept.
    """

    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="trading_state_changes",
    )
    state = models.CharField(max_length=8, choices=TradingState.choices)
    previous = models.CharField(max_length=8, choices=TradingState.choices)
    reason = models.TextField()
    source = models.CharField(max_length=16)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "-id"], name="trading_state_latest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=TradingState.values), name="trading_state_known"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="trading_state_has_reason"),
        ]

    def __str__(self) -> str:
        scope = f"account {self.account_id}" if self.account_id else "global"
        return f"{scope}: {self.previous} → {self.state}"


class EquityMark(models.Model):
    """What the automatic triggers (``apps.trading.triggers``) last saw of one equity, in
    ``currency``: the equity at the last check (``equity``), at the start of the current UTC
    day (``day_start_equity``: the last equity seen before ``day`` began, or the first of the
    day when none was) and its high-water mark (``peak_equity``). ``loss_fired_on`` is the
    day a daily loss limit last fired (it fires at most once a day). Abstract: the account's
    (``AccountEquityMark``) and the strategy's (``apps.strategies.models.StrategyEquityMark``).
    """

    currency = models.CharField(max_length=3)
    day = models.DateField()
    day_start_equity = models.DecimalField(max_digits=20, decimal_places=4)
    equity = models.DecimalField(max_digits=20, decimal_places=4)
    peak_equity = models.DecimalField(max_digits=20, decimal_places=4)
    loss_fired_on = models.DateField(null=True, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        abstract = True


class AccountEquityMark(EquityMark):
    """The account's equity as its daily loss and drawdown limits last saw it (base
    currency); one row per account, locked while a check runs."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="equity_mark")

    def __str__(self) -> str:
        return f"account {self.account_id}: {self.equity} {self.currency}"
