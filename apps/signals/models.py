"""Signals: a model's decision after validation, accepted or rejected with reasons."""

from django.db import models

from apps.positions.models import PositionSide

__all__ = ["Action", "Intent", "PositionSide", "Signal", "SignalStatus"]


class Action(models.TextChoices):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


class Intent(models.TextChoices):
    """What the model meant for the strategy's position (optional in the decision)."""

    OPEN = "open"
    CLOSE = "close"
    REVERSE = "reverse"
    ADJUST = "adjust"


class SignalStatus(models.TextChoices):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Signal(models.Model):
    """The validated decision of one run; prices in the symbol's currency."""

    strategy = models.ForeignKey(
        "strategies.Strategy", on_delete=models.PROTECT, related_name="signals"
    )
    run = models.OneToOneField("lineage.Run", on_delete=models.CASCADE, related_name="signal")
    prompt_template = models.ForeignKey(
        "analysis.PromptTemplate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signals",
        help_text="The template version the analysis was asked with.",
    )
    action = models.CharField(max_length=4, choices=Action.choices)
    position_side = models.CharField(max_length=5, choices=PositionSide.choices, blank=True)
    intent = models.CharField(
        max_length=8,
        choices=Intent.choices,
        blank=True,
        help_text="The model's intent for the held position, when it gave one.",
    )
    position_action = models.CharField(
        max_length=16,
        blank=True,
        help_text="What the signal does to the strategy's position: open, close, reverse, "
        "scale_in, trail, or none.",
    )
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    entry = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    stop_loss = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    take_profit = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    reward_risk = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    reasoning = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=SignalStatus.choices)
    checks = models.JSONField(
        default=list, blank=True, help_text="Every validation check with its outcome."
    )
    rejection_reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.strategy_id} ({self.status})"
