"""Backtests: a strategy evaluated over a past window, one or more variants side by side.

A variant runs a hidden copy of the strategy (``Strategy.backtest_of``: inactive, not listed)
on its own paper account (``Account.paper_clock`` set: the paper book fills it only on bars
closed by the clock), so a backtest never touches the owner's live or paper positions. Every
schedule slot of the window becomes an ordinary run (trigger ``backtest``) of that copy,
executed by the pipeline's executor (``apps.evaluation.services``).

A replay (``kind=replay``, ``apps.evaluation.replay``) is a backtest whose units are not
schedule slots but stored runs — a strategy's own runs in the window, or the runs of a
backtest's variant (``source_variant``) — each re-executed from the llm step.
"""

from django.conf import settings
from django.db import models

from apps.lineage.models import LlmCacheMode


class BacktestStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BacktestKind(models.TextChoices):
    BACKTEST = "backtest"  # every schedule slot of the window, run from the data step
    REPLAY = "replay"  # every stored source run of the window, re-run from the llm step


class Backtest(models.Model):
    """A walk-forward backtest of ``strategy`` over [``start``, ``end``] (tz-aware UTC).

    ``anonymise``: every run of it is anonymised (``Run.anonymise``, the leakage guard).

    ``kind=replay``: the variants re-execute stored runs instead of schedule slots — the runs
    of ``source_variant`` (a backtest's variant) when set, else ``strategy``'s own live runs
    with an as-of in the window (``apps.evaluation.replay``)."""

    strategy = models.ForeignKey(
        "strategies.Strategy", on_delete=models.PROTECT, related_name="backtests"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="backtests",
    )
    kind = models.CharField(
        max_length=8, choices=BacktestKind.choices, default=BacktestKind.BACKTEST
    )
    source_variant = models.ForeignKey(
        "BacktestVariant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replays",
        help_text="A replay of a backtest: the variant whose runs are re-executed.",
    )
    start = models.DateTimeField(help_text="First moment of the window (UTC).")
    end = models.DateTimeField(help_text="Last moment of the window (UTC).")
    llm_cache = models.CharField(
        max_length=8,
        choices=LlmCacheMode.choices,
        default=LlmCacheMode.OFF,
        help_text="LLM answer cache mode of every run of the backtest (off/use/only/refresh).",
    )
    anonymise = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Leakage guard: every run is anonymised (the model sees no ticker, company "
        "name or date; see Run.anonymise).",
    )
    status = models.CharField(
        max_length=16, choices=BacktestStatus.choices, default=BacktestStatus.PENDING
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="bt_window")
        ]

    def __str__(self) -> str:
        return f"backtest {self.pk} of {self.strategy_id} ({self.status})"


class BacktestVariant(models.Model):
    """One way of running the strategy in a backtest: model, prompt version, analyst.

    Blank ``llm_model``/``analyst`` and null ``prompt_template`` keep the strategy's own.
    ``account`` is the variant's isolated paper account, ``clone`` the hidden strategy copy
    that trades it; ``slots_done`` of ``slots_total`` schedule slots (a replay: source runs)
    have a run. ``recorded_answers`` (a replay's ``original`` variant): its runs answer with
    the source runs' recorded LLM answers, making no request. ``reference``: the baseline
    analyst added beside the variants (a backtest none of whose variants uses it) — the
    report's ``baseline_analyst`` reference row, not one of the compared ``variants``.
    """

    backtest = models.ForeignKey(Backtest, on_delete=models.CASCADE, related_name="variants")
    position = models.PositiveSmallIntegerField(help_text="1, 2, … in the backtest.")
    label = models.CharField(max_length=128)
    llm_model = models.CharField(max_length=128, blank=True)
    prompt_template = models.ForeignKey(
        "analysis.PromptTemplate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    analyst = models.CharField(max_length=16, blank=True)
    recorded_answers = models.BooleanField(default=False)
    reference = models.BooleanField(
        default=False, help_text="The baseline analyst reference row, not a compared variant."
    )
    account = models.ForeignKey("trading.Account", on_delete=models.PROTECT, related_name="+")
    clone = models.ForeignKey("strategies.Strategy", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=16, choices=BacktestStatus.choices, default=BacktestStatus.PENDING
    )
    error = models.TextField(blank=True)
    slots_done = models.PositiveIntegerField(default=0)
    slots_total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["backtest", "position"]
        constraints = [
            models.UniqueConstraint(fields=["backtest", "position"], name="bt_variant_position")
        ]

    def __str__(self) -> str:
        return f"variant {self.position} ({self.label}) of backtest {self.backtest_id}"
