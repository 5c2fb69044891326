"""Output serializers of the runs API: runs for lists, and a run's whole lineage with what the
apps above lineage recorded for it (language-model calls, signal, orders and fills).

Times are UTC (ISO 8601), durations in milliseconds, prices in the symbol's currency.
"""

from datetime import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.analysis.models import LlmCall
from apps.common.api_fields import choice_field
from apps.lineage.api.serializers import StepOutputSerializer
from apps.lineage.models import Run, RunStatus
from apps.orders.api.serializers import FillOutputSerializer, OrderOutputSerializer
from apps.signals.api.serializers import SignalOutputSerializer
from apps.strategies.models import Strategy


def duration_ms(started_at: datetime | None, finished_at: datetime | None) -> float | None:
    """Milliseconds from start to finish, or None while either is unknown."""
    if started_at is None or finished_at is None:
        return None
    return round((finished_at - started_at).total_seconds() * 1000, 3)


class RunStrategySerializer(serializers.ModelSerializer[Strategy]):
    """The strategy a run belongs to: id, slug and name."""

    class Meta:
        model = Strategy
        fields = ["id", "slug", "name"]
        read_only_fields = fields


class RunListOutputSerializer(serializers.ModelSerializer[Run]):
    """A run row: its strategy, trigger, status, times, the step it is at (or failed in), its
    error, ``duration_ms`` (finished − started) and its signal's action (null without one)."""

    strategy = RunStrategySerializer(read_only=True)
    status = choice_field(RunStatus, "RunStatusEnum")
    duration_ms = serializers.SerializerMethodField()
    signal_action = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "strategy",
            "trigger",
            "status",
            "as_of",
            "scheduled_for",
            "created_at",
            "started_at",
            "finished_at",
            "current_step",
            "error_message",
            "duration_ms",
            "signal_action",
        ]
        read_only_fields = fields

    # Null while the run is unfinished: the schema says so, or generated clients assume a number.
    @extend_schema_field(
        serializers.FloatField(
            allow_null=True,
            help_text="Run time in milliseconds, null while the run is not finished.",
        )
    )
    def get_duration_ms(self, run: Run) -> float | None:
        """Run time in milliseconds, null while the run is not finished."""
        return duration_ms(run.started_at, run.finished_at)


class LlmAttemptSerializer(serializers.Serializer[dict[str, object]]):
    """One HTTP attempt of a language-model call: its number (from 1), the model and response
    format tried, the HTTP status (absent without a response), the error (absent on success) and
    its duration in milliseconds."""

    attempt = serializers.IntegerField()
    model = serializers.CharField()
    mode = serializers.CharField()
    status = serializers.IntegerField(required=False)
    error = serializers.CharField(required=False)
    duration_ms = serializers.FloatField()


class LlmCallOutputSerializer(serializers.ModelSerializer[LlmCall]):
    """One language-model call: model, response format used, tokens, latency (ms, all attempts
    and the waits between them), attempts with each one's status and duration, the model's
    ``finish_reason`` (``stop``, ``length`` …), estimated cost (USD) and the provider's error
    text if it failed."""

    attempt_log = LlmAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = LlmCall
        fields = [
            "id",
            "model",
            "response_format",
            "prompt_tokens",
            "completion_tokens",
            "latency_ms",
            "attempts",
            "attempt_log",
            "finish_reason",
            "cost_usd",
            "succeeded",
            "error",
            "created_at",
        ]
        read_only_fields = fields


class RunOrderOutputSerializer(OrderOutputSerializer):
    """An order of the run with its fills."""

    fills = FillOutputSerializer(many=True, read_only=True)

    class Meta(OrderOutputSerializer.Meta):
        fields = [*OrderOutputSerializer.Meta.fields, "fills"]
        read_only_fields = fields


class RunDetailOutputSerializer(RunListOutputSerializer):
    """A run's whole lineage: the run, its steps in sequence order with their artifacts, its
    language-model calls, its signal (null without one) with every check, and its orders with
    their fills."""

    steps = StepOutputSerializer(many=True, read_only=True)
    llm_calls = LlmCallOutputSerializer(many=True, read_only=True)
    signal = serializers.SerializerMethodField()
    orders = RunOrderOutputSerializer(many=True, read_only=True)

    class Meta(RunListOutputSerializer.Meta):
        fields = [
            *RunListOutputSerializer.Meta.fields,
            "heartbeat_at",
            "steps",
            "llm_calls",
            "signal",
            "orders",
        ]
        read_only_fields = fields

    @extend_schema_field(SignalOutputSerializer(allow_null=True))
    def get_signal(self, run: Run) -> dict[str, object] | None:
        """The run's signal with its checks, or None."""
        signal = getattr(run, "signal", None)
        return None if signal is None else dict(SignalOutputSerializer(signal).data)
