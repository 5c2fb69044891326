"""Output serializers of the signals API; prices in the symbol's currency, times UTC."""

from typing import Any

from rest_framework import serializers

from apps.common.api_fields import choice_field
from apps.signals.models import PositionSide, Signal, SignalStatus


class SignalCheckSerializer(serializers.Serializer[dict[str, Any]]):
    """One validation check of a signal: its name, whether it passed, and the numbers behind
    it (``detail``, e.g. ``"reward/risk 1.76 >= 1.5"``)."""

    name = serializers.CharField()
    passed = serializers.BooleanField()
    detail = serializers.CharField(allow_blank=True)


class SignalOutputSerializer(serializers.ModelSerializer[Signal]):
    """A signal: the decision (action, confidence 0–1, entry/stop/target prices), whether it
    was accepted, every check with its outcome, the run (``run_id``) that made it, and its
    strategy's name and symbol (ticker)."""

    run_id = serializers.IntegerField(read_only=True)
    strategy_id = serializers.IntegerField(read_only=True)
    strategy_name = serializers.CharField(source="strategy.name", read_only=True)
    symbol = serializers.CharField(source="strategy.symbol.symbol", read_only=True)
    prompt_template_id = serializers.IntegerField(read_only=True, allow_null=True)
    status = choice_field(SignalStatus, "SignalStatusEnum")
    # "" for a signal without a side (FLAT, or rejected before one was set): the model allows
    # blank, and the schema must say so (an enum of LONG|SHORT alone rejects the real answer).
    position_side = serializers.ChoiceField(
        choices=PositionSide.choices, allow_blank=True, read_only=True
    )
    checks = SignalCheckSerializer(many=True, read_only=True)
    rejection_reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Signal
        fields = [
            "id",
            "run_id",
            "strategy_id",
            "strategy_name",
            "symbol",
            "prompt_template_id",
            "action",
            "position_side",
            "confidence",
            "entry",
            "stop_loss",
            "take_profit",
            "reward_risk",
            "reasoning",
            "status",
            "checks",
            "rejection_reasons",
            "created_at",
        ]
        read_only_fields = fields
