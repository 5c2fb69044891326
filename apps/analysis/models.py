"""Prompt templates: Jinja2 bodies under a name, each saved version immutable.

A template name belongs to an owner (a user; null: the operator's, saved by management
commands run without an owner); names are unique per owner, so two users may both have
``swing``. Staff may publish a name: every version of it becomes readable and usable by every
user, never writable by anyone but its owner (security spec, "Prompt templates belong to users").
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.analysis.prompts import prompt_template_body_check


class PromptTemplate(models.Model):
    """One version of a named Jinja2 prompt template; editing means saving the next version.

    ``owner`` owns the name (every version of it has the same owner; null: the operator's);
    ``author`` saved this version (null: a management command, or a deleted user).
    ``is_published`` is a property of the name, set by staff through
    ``apps.analysis.services.prompt_template_publish`` on every version at once and copied to
    each new version; it is the one column a saved version may change.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="prompt_templates",
        help_text="Who owns the name (all its versions); blank: the operator's.",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who saved this version; blank: a management command.",
    )
    name = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    body = models.TextField()
    is_published = models.BooleanField(
        default=False,
        help_text="Published by staff: every user may read and use every version of the "
        "name; only its owner saves versions.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "owner_id", "-version"]
        constraints = [
            # NULLS NOT DISTINCT: the operator's (owner null) names are unique too.
            models.UniqueConstraint(
                fields=["owner", "name", "version"],
                name="prompt_unique_owner_version",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        # Immutability is a data invariant, so it is enforced here rather than in a service.
        if self.pk is not None:
            raise ValidationError("A saved prompt template version is immutable.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        """Raise ValidationError on ``body`` when it is longer than PROMPT_TEMPLATE_MAX_CHARS.

        Checked in clean() rather than as a field validator so the limit stays a setting, not
        a migration; full_clean (services, admin forms) runs it.
        """
        try:
            prompt_template_body_check(self.body)
        except ValueError as error:
            raise ValidationError({"body": str(error)}) from error


class LlmCall(models.Model):
    """One language-model call of a run: tokens, time, attempts, mode and estimated cost (USD).

    ``latency_ms`` is the whole call: every attempt (fallback model included) and the waits
    between them; ``attempt_log`` lists each HTTP attempt as ``{attempt, model, mode, status
    (absent without a response), error (absent on success), duration_ms}``. ``finish_reason`` is
    the endpoint's for the answer (``stop``, ``length`` …; empty without an answer). The API key
    is never stored; ``error`` holds the provider's error text when it failed.
    """

    run = models.ForeignKey("lineage.Run", on_delete=models.CASCADE, related_name="llm_calls")
    strategy = models.ForeignKey(
        "strategies.Strategy", on_delete=models.CASCADE, related_name="llm_calls"
    )
    model = models.CharField(max_length=128)
    response_format = models.CharField(max_length=16)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(default=0.0)
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_log = models.JSONField(default=list, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    succeeded = models.BooleanField(default=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.model} for run {self.run_id}: {self.prompt_tokens}+{self.completion_tokens}"


class PromptScore(models.Model):
    """How one template version's signals turned out for one owner's strategies, computed daily.

    ``owner`` is the owner of the strategies whose signals were scored (null: ownerless
    strategies, and the scores computed before scores were per owner); a published version
    used by two users has one row per user, each from that user's signals only.

    Shares are 0–1; ``avg_r_multiple`` is realized P&L over initial risk (quantity × |entry −
    stop|) averaged over closed trades; ``win_rate`` counts closed trades with P&L > 0.
    """

    template = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="scores")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Whose strategies' signals were scored; blank: ownerless strategies.",
    )
    computed_at = models.DateTimeField()
    signals = models.PositiveIntegerField()
    accepted_share = models.FloatField(null=True)
    filled_share = models.FloatField(null=True)
    closed_trades = models.PositiveIntegerField()
    win_rate = models.FloatField(null=True)
    avg_r_multiple = models.FloatField(null=True)

    class Meta:
        ordering = ["template", "-computed_at"]

    def __str__(self) -> str:
        return f"{self.template} on {self.computed_at:%Y-%m-%d}"
