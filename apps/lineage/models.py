"""Lineage: a Run of a strategy and one Step per executed pipeline step, with artifacts.

Lineage is the record a person reads to see why an order exists; it knows nothing above it.
"""

from django.core.exceptions import ValidationError
from django.db import models


class RunTrigger(models.TextChoices):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    API = "api"
    # Evaluation runs (issue 16): created by a backtest or a replay, never by a live trigger.
    BACKTEST = "backtest"
    REPLAY = "replay"


# The triggers of evaluation runs: the only runs that may use the LLM answer cache.
EVALUATION_TRIGGERS = (RunTrigger.BACKTEST, RunTrigger.REPLAY)


class LlmCacheMode(models.TextChoices):
    """How an evaluation run uses the LLM answer cache (``apps.analysis.answer_cache``)."""

    OFF = "off"
    USE = "use"  # a hit answers without a request; a miss calls and stores
    ONLY = "only"  # a miss is an error: free, reproducible reruns
    REFRESH = "refresh"  # always call, overwrite the stored answer
    # a replay run answers with its source run's recorded answer (``Run.replay_of``): no request
    RECORDED = "recorded"


class RunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # The worker died mid-run; never resumed (an order in doubt is reconciled by the monitor).
    ABANDONED = "abandoned"
    # A scheduled slot that did not run: the exchange was closed, or the slot was missed.
    SKIPPED = "skipped"
    # Failed or abandoned, but its bracket reached the broker after all (adopted by client order
    # reference, or resent by the retry pass): its orders are live. error_message keeps the fault.
    RECOVERED = "recovered"
    # A pending run whose task never started in time (message lost, worker failing before the
    # claim): its slot became too old to trade, or a manual run waited past its bound.
    EXPIRED = "expired"


ACTIVE_RUN_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)


class StepStatus(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class Run(models.Model):
    """One execution of a strategy as of a moment in time (tz-aware UTC).

    A replay run (trigger ``replay``, ``replay_of`` set) re-executes a stored run from the llm
    step: its first three steps record the source run's outputs and artifacts as reused
    (``apps.pipeline.reuse``) instead of reading bars and rendering a chart again."""

    strategy = models.ForeignKey(
        "strategies.Strategy", on_delete=models.PROTECT, related_name="runs"
    )
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    as_of = models.DateTimeField(help_text="The run sees only bars closed at or before this time.")
    scheduled_for = models.DateTimeField(
        null=True, blank=True, help_text="The schedule slot this run was claimed for (UTC)."
    )
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life from the worker executing the run."
    )
    enqueued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the run's task was last sent to the runs queue (null: never sent).",
    )
    enqueue_count = models.PositiveSmallIntegerField(
        default=0, help_text="How many times the run's task was sent (re-sent while pending)."
    )
    current_step = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    llm_cache = models.CharField(
        max_length=8,
        choices=LlmCacheMode.choices,
        default=LlmCacheMode.OFF,
        db_default=LlmCacheMode.OFF,
        help_text="LLM answer cache mode; honoured only for backtest and replay runs (a live "
        "run never uses the cache).",
    )
    anonymise = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Leakage guard of evaluation runs: the model sees no ticker, company name or "
        "date (prompt dates as bar offsets t-0, t-1, …; chart without dates or title). Only "
        "backtest and replay runs may be anonymised.",
    )
    replay_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replays",
        help_text="The stored run this replay run re-executes from the llm step (its data, "
        "indicators and charts steps reuse that run's outputs and artifacts).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["strategy", "-created_at"]),
            # A strategy's runs newest first by id (the API's cursor order), without walking
            # every other strategy's runs.
            models.Index(fields=["strategy", "-id"], name="run_strategy_newest_id"),
            models.Index(fields=["status", "heartbeat_at"]),
        ]
        constraints = [
            # One run per strategy and slot: the guarantee that a slot never runs twice.
            models.UniqueConstraint(
                fields=["strategy", "scheduled_for"],
                condition=models.Q(scheduled_for__isnull=False),
                name="run_unique_slot",
            ),
            # The leakage guard is for evaluation: a live run always sees its real market.
            models.CheckConstraint(
                condition=models.Q(anonymise=False)
                | models.Q(trigger__in=[RunTrigger.BACKTEST, RunTrigger.REPLAY]),
                name="run_anonymise_evaluation_only",
            ),
            # A replay variant re-executes each source run once: its resume key.
            models.UniqueConstraint(
                fields=["strategy", "replay_of"],
                condition=models.Q(replay_of__isnull=False),
                name="run_unique_replay",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.strategy_id} ({self.status})"

    def clean(self) -> None:
        """Raise ValidationError (key ``anonymise``) when a live run (trigger manual, schedule
        or api) is anonymised: only evaluation runs (``EVALUATION_TRIGGERS``) may be."""
        if self.anonymise and self.trigger not in EVALUATION_TRIGGERS:
            raise ValidationError(
                {"anonymise": "only backtest and replay runs can be anonymised, not live runs"}
            )


class Step(models.Model):
    """One pipeline step of a run: its JSON input and output, timing and any error."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=32)
    sequence = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    error_type = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["run", "sequence"], name="step_unique_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.name} ({self.status})"


class Artifact(models.Model):
    """A file a step produced (chart PNG/JSON, rendered prompt, raw model answer).

    Content-addressed: the file is stored once per content hash, at
    ``artifacts/sha256/<first two hex digits>/<sha256>.<ext>``, and every artifact with those
    bytes points at that one file (``file`` is not unique). Rows recorded before content
    addressing keep their own file under ``artifacts/%Y/%m/%d/`` and a blank ``sha256``.
    A file is deleted only when no artifact row references it any more.
    """

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=32)
    file = models.FileField(upload_to="artifacts/%Y/%m/%d/")
    content_type = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        db_index=True,
        help_text="SHA-256 (hex) of the file's bytes; blank for files stored before hashing.",
    )
    input_sha256 = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        db_index=True,
        help_text="For a derived file (a chart PNG): SHA-256 of everything that determines it "
        "(figure JSON and export settings), so an identical input reuses the file.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["step", "kind"]

    def __str__(self) -> str:
        return f"{self.kind} of step {self.step_id}"
