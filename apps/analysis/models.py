"""Prompt templates: Jinja2 bodies under a name, each saved version immutable.

A template name belongs to an owner (a user; null: the operator's, saved by management
commands run without an owner); names are unique per owner, so two users may both have
``swing``. Staff may publish a name: every version of it becomes readable and usable by every
user, never writable by anyone but its owner (security spec, "Prompt templates belong to users").
"""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from apps.analysis.endpoint_rules import MODEL_ID_MAX_CHARS, llm_endpoint_problems
from apps.analysis.fields import SecretField
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

    ``cache`` (evaluation runs only): ``hit`` when the answer came from the LLM answer cache —
    then tokens and cost are the ORIGINAL call's (what the answer cost when it was bought, so a
    report can show it) while ``latency_ms`` is 0 and ``attempts`` 0 (no request was made);
    ``miss`` when the call was made with the cache in ``use`` or ``refresh`` mode and stored;
    empty without a cache.
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
    cache = models.CharField(
        max_length=8,
        blank=True,
        default="",
        db_default="",
        choices=[("hit", "hit"), ("miss", "miss")],
        help_text="hit/miss of the LLM answer cache (evaluation runs); blank: no cache.",
    )
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

    Shares are 0–1; a closed trade is a closed strategy position opened by a run of the
    version; ``win_rate`` counts those whose realized P&L (after commissions) is > 0, and
    ``avg_r_multiple`` averages their R multiples (realized P&L over the initial risk,
    Σ entry fill quantity × |fill price − stop|) where the risk is known
    (``apps.analysis.performance``).
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


class LlmEndpoint(models.Model):
    """An OpenAI-compatible chat-completions endpoint: its URL, its key and what it offers.

    ``owner`` null: the operator's endpoint, managed by staff and usable by every user;
    otherwise that user's own endpoint, usable only by them (``LLM_USER_ENDPOINTS``). The key
    is encrypted at rest (``SecretField``), never returned by the API, logged or written to
    lineage, and sent only to this endpoint's ``base_url``, which must pass the outbound URL
    policy (``apps.common.outbound``) when saved and at every connection.

    ``offered_models``: model ids it offers (empty: any); ``text_only_models``: those that take no
    image (their prompt carries a text summary of the chart); ``prices``: USD per million
    tokens, ``{"model": {"input": x, "output": y}}`` (empty: ``LLM_PRICES``); ``timeout_s``:
    seconds per request (null: ``LLM_TIMEOUT_S``, or the strategy's own timeout).

    Knowledge cutoff (the leakage guard of backtests): the last date a model's training data
    may cover. One endpoint serves several models with different cutoffs, so it is set per
    model, as the model's vendor publishes it: ``knowledge_cutoffs`` ``{"model": "YYYY-MM-DD"}``,
    and ``knowledge_cutoff`` the date for every model the mapping does not name (blank: unknown).
    A backtest window that starts before a variant model's cutoff is marked in its report as a
    period the model may have seen (``knowledge_cutoff_of``, ``apps.evaluation.report``).
    """

    name = models.CharField(max_length=64)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="llm_endpoints",
        help_text="Blank: the operator's endpoint, usable by every user.",
    )
    base_url = models.CharField(
        max_length=255, help_text="The OpenAI-compatible API root, e.g. https://api.openai.com/v1."
    )
    api_key: str = SecretField(  # type: ignore[assignment]  # untyped library field
        max_length=512,
        blank=True,
        null=True,
        default="",
        help_text="Encrypted at rest; sent only to this endpoint's URL. Blank: no key.",
    )
    offered_models = models.JSONField(
        default=list, blank=True, help_text="Model ids it offers; empty: any model."
    )
    text_only_models = models.JSONField(
        default=list, blank=True, help_text="Model ids that take no image input."
    )
    prices = models.JSONField(
        default=dict,
        blank=True,
        help_text='USD per million tokens: {"model": {"input": 0.15, "output": 0.6}}; '
        "empty: LLM_PRICES.",
    )
    timeout_s = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(600)],
        help_text="Seconds per request; blank: LLM_TIMEOUT_S.",
    )
    knowledge_cutoff = models.DateField(
        null=True,
        blank=True,
        help_text="The training-data cutoff of this endpoint's models (those not named in "
        "knowledge cutoffs by model); blank: unknown. Backtests of a window starting before "
        "it are marked as periods the model may have seen.",
    )
    knowledge_cutoffs = models.JSONField(
        default=dict,
        blank=True,
        help_text='Training-data cutoff per model: {"gpt-4o-mini": "2023-10-01"}; overrides '
        "the endpoint's knowledge cutoff for those models.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="llm_endpoint_unique_name_per_owner"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(owner__isnull=True),
                name="llm_endpoint_unique_operator_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name if self.owner_id is None else f"{self.name} ({self.owner})"

    @property
    def has_api_key(self) -> bool:
        """Whether a key is stored (readable or not)."""
        return bool(self.api_key)

    def knowledge_cutoff_of(self, model: str) -> date | None:
        """The training-data cutoff of ``model`` on this endpoint: its ``knowledge_cutoffs``
        entry, else ``knowledge_cutoff``; None when unknown (or the entry is not a date)."""
        named = (self.knowledge_cutoffs or {}).get(model)
        if named is not None:
            return _iso_date(named)
        return self.knowledge_cutoff

    def clean(self) -> None:
        """Check the shape of ``models``, ``text_only_models``, ``prices`` and
        ``knowledge_cutoffs`` and the URL against the outbound URL policy.

        Raises ValidationError keyed by field; the URL message names the policy rule.
        """
        problems = llm_endpoint_problems(
            base_url=self.base_url,
            offered_models=self.offered_models,
            text_only_models=self.text_only_models,
            prices=self.prices,
        )
        if problem := knowledge_cutoffs_problem(self.knowledge_cutoffs):
            problems["knowledge_cutoffs"] = [problem]
        if problems:
            raise ValidationError(problems)


def _iso_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def knowledge_cutoffs_problem(value: object) -> str:
    """ "" when ``value`` is a mapping of model ids to ISO dates ("YYYY-MM-DD"), else the
    message saying the expected shape."""
    message = 'a mapping {"model": "YYYY-MM-DD"} of model ids to training-data cutoff dates'
    if not isinstance(value, dict):
        return message
    for model, cutoff in value.items():
        if not model or len(model) > MODEL_ID_MAX_CHARS or _iso_date(cutoff) is None:
            return message
        if len(cutoff) != len("YYYY-MM-DD"):
            return message
    return ""


class LlmAnswerCache(models.Model):
    """One stored language-model answer for evaluation runs (backtests, replays), under the
    sha256 ``key`` of exactly what the call sends (``apps.analysis.llm_client.answer_cache_key``:
    endpoint URL, models, sampling settings, response format and schema, messages with the
    chart's bytes; never the API key).

    Kept: the raw answer ``text`` (and ``refusal``), ``finish_reason``, the response format
    used (``response_format``), the model that actually answered (``model``; the fallback's id
    when it answered), and the original call's tokens, cost (USD) and ``latency_ms``; ``hits``
    counts answers served from the row, ``last_hit_at`` the latest (tz-aware UTC). Live runs
    never read or write it (``apps.analysis.answer_cache``).
    """

    key = models.CharField(max_length=64, unique=True)
    text = models.TextField(blank=True)
    refusal = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    response_format = models.CharField(max_length=16, blank=True)
    model = models.CharField(max_length=128)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    latency_ms = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now)
    hits = models.PositiveIntegerField(default=0)
    last_hit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"answer {self.key[:12]} of {self.model} ({self.hits} hits)"


class LlmUserBudget(models.Model):
    """What all of a user's strategies' model calls may cost together (USD, from the price
    tables), per UTC day and per UTC calendar month; blank: no limit. Set by staff."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="llm_budget"
    )
    daily_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    monthly_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"LLM budget of {self.user_id}"
