"""Output serializers of the performance API: P&L per currency of a strategy, an account, or a
prompt version and model, and the equity curve of a strategy or an account.

Money is in the figures' ``currency`` (the symbols' currency; never added across currencies),
as decimal strings to 4 places; win rate and drawdown fraction are 0–1, average R in R; dates
are exchange dates (ISO 8601). Definitions: ``apps.composition.performance``.
"""

from typing import Any

from rest_framework import serializers


def _money(help_text: str, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=28, decimal_places=4, read_only=True, help_text=help_text, **kwargs
    )


def _ratio(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=16, decimal_places=4, read_only=True, allow_null=True, help_text=help_text
    )


class EquityPointSerializer(serializers.Serializer[dict[str, Any]]):
    """One day of the equity curve: starting equity + realized P&L to the day + unrealized P&L
    of the positions open at the day's close, and the drawdown (running peak − equity)."""

    date = serializers.DateField(read_only=True)
    equity = _money("Equity at the day's close.")
    drawdown = _money("Running peak of equity minus equity (≥ 0).")


class PerformanceFiguresSerializer(serializers.Serializer[Any]):
    """P&L and trade statistics of a set of strategy positions in one currency."""

    currency = serializers.CharField(read_only=True)
    trades = serializers.IntegerField(read_only=True, help_text="Closed positions.")
    wins = serializers.IntegerField(read_only=True)
    losses = serializers.IntegerField(read_only=True)
    breakevens = serializers.IntegerField(read_only=True)
    win_rate = _ratio("Wins ÷ closed positions (0–1); null without closed positions.")
    average_r = _ratio("Mean R multiple of the closed positions with a known initial risk.")
    r_trades = serializers.IntegerField(
        read_only=True, help_text="Closed positions with a known R."
    )
    realized_pnl = _money("Realized P&L of every position, net of commissions.")
    unrealized_pnl = _money("Open positions marked at their symbol's last stored bar close.")
    commission = _money("Commissions of every position.")
    open_positions = serializers.IntegerField(read_only=True)
    unpriced_positions = serializers.IntegerField(
        read_only=True, help_text="Open positions whose symbol has no bar (not marked)."
    )
    starting_equity = _money("Equity the curve starts from.")
    max_drawdown = _money("Largest peak-to-trough decline of the equity curve.")
    max_drawdown_fraction = _ratio(
        "Largest decline as a fraction of the running peak (0–1); null without a positive peak."
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """The figures of ``instance`` (a ``CurrencyPerformance``) flattened: its trade
        stats and max drawdown inlined."""
        stats = instance.stats
        flat = {
            "currency": instance.currency,
            "trades": stats.trades,
            "wins": stats.wins,
            "losses": stats.losses,
            "breakevens": stats.breakevens,
            "win_rate": stats.win_rate,
            "average_r": stats.average_r,
            "r_trades": stats.r_trades,
            "realized_pnl": instance.realized_pnl,
            "unrealized_pnl": instance.unrealized_pnl,
            "commission": instance.commission,
            "open_positions": instance.open_positions,
            "unpriced_positions": instance.unpriced_positions,
            "starting_equity": instance.starting_equity,
            "max_drawdown": instance.max_drawdown.amount,
            "max_drawdown_fraction": instance.max_drawdown.fraction,
        }
        return {
            name: self.fields[name].to_representation(value) if value is not None else None
            for name, value in flat.items()
        }


class CurrencyPerformanceSerializer(PerformanceFiguresSerializer):
    """The figures in one currency with the daily equity curve."""

    equity = EquityPointSerializer(many=True, read_only=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """The figures and ``equity``: one point per day."""
        return {
            **super().to_representation(instance),
            "equity": [
                EquityPointSerializer(
                    {"date": p.day, "equity": p.equity, "drawdown": p.drawdown}
                ).data
                for p in instance.equity
            ],
        }


class StrategyPerformanceSerializer(serializers.Serializer[dict[str, Any]]):
    """A strategy's performance: one entry per currency of the symbols it traded."""

    strategy = serializers.IntegerField(read_only=True)
    currencies = CurrencyPerformanceSerializer(many=True, read_only=True)


class AccountPerformanceSerializer(serializers.Serializer[dict[str, Any]]):
    """An account's performance (all its strategy positions): one entry per currency."""

    account = serializers.IntegerField(read_only=True)
    currencies = CurrencyPerformanceSerializer(many=True, read_only=True)


class PromptPerformanceSerializer(PerformanceFiguresSerializer):
    """The figures of the positions opened by one prompt version and model in one currency;
    the drawdown is of their P&L curve (starting equity 0)."""

    template = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Prompt template version id; null: untracked."
    )
    template_name = serializers.CharField(read_only=True)
    template_version = serializers.IntegerField(read_only=True, allow_null=True)
    llm_model = serializers.CharField(
        read_only=True, help_text="Model of the opening run; blank for the baseline analyst."
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """The version, the model and the figures of ``instance`` (a ``PromptPerformance``)."""
        return {
            "template": instance.template_id,
            "template_name": instance.template_name,
            "template_version": instance.template_version,
            "llm_model": instance.llm_model,
            **super().to_representation(instance.performance),
        }
