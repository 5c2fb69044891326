"""The LLM answer cache of evaluation runs (backtests and replays), in the database.

A run's ``llm_cache`` mode (``lineage.Run``) is honoured only when its trigger is an
evaluation trigger (``backtest``, ``replay``); for a live run (``schedule``, ``manual``,
``api``) the mode is ``off`` whatever the field says, so a live decision always comes from a
real call. ``LlmClient.complete`` computes the key of exactly what it would send and asks the
``DatabaseAnswerCache`` given to it; the client itself knows no Django model.

A replay run in mode ``recorded`` (a replay's ``original`` variant) gets a
``RecordedAnswerCache`` instead: whatever the request, it answers with the answer its source
run (``Run.replay_of``) recorded — the ``raw_answer`` artifact of the source's llm step, with
the model, tokens and cost of the source's LlmCall — so the original is re-scored with no
request at all.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.db.models import F
from django.utils import timezone

from apps.analysis.llm_client import CachedAnswer
from apps.analysis.models import LlmAnswerCache, LlmCall
from apps.common.errors import SibylError
from apps.lineage.models import EVALUATION_TRIGGERS, Artifact, LlmCacheMode, Run

logger = logging.getLogger(__name__)

_STORED_FIELDS = [
    "text",
    "refusal",
    "finish_reason",
    "response_format",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_ms",
    "created_at",
]


def llm_cache_mode(*, run: Run) -> str:
    """The cache mode the run's llm step uses: the run's ``llm_cache`` for a ``backtest`` or
    ``replay`` run, ``off`` for any other trigger (live runs never use the cache)."""
    if run.trigger not in EVALUATION_TRIGGERS:
        return LlmCacheMode.OFF
    return str(run.llm_cache or LlmCacheMode.OFF)


class DatabaseAnswerCache:
    """``llm_client.AnswerCache`` over ``LlmAnswerCache`` rows, in mode ``use``, ``only`` or
    ``refresh``."""

    def __init__(self, mode: str) -> None:
        if mode not in (LlmCacheMode.USE, LlmCacheMode.ONLY, LlmCacheMode.REFRESH):
            raise ValueError(f"not an answer cache mode: {mode!r}")
        self.mode = mode

    def get(self, key: str) -> CachedAnswer | None:
        """The answer stored under ``key``, or None; a hit adds 1 to ``hits`` and sets
        ``last_hit_at`` (one conditional UPDATE, safe under concurrent runs)."""
        row = LlmAnswerCache.objects.filter(key=key).first()
        if row is None:
            return None
        LlmAnswerCache.objects.filter(pk=row.pk).update(
            hits=F("hits") + 1, last_hit_at=timezone.now()
        )
        return CachedAnswer(
            text=row.text,
            model=row.model,
            mode=row.response_format,
            finish_reason=row.finish_reason,
            refusal=row.refusal,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cost_usd=row.cost_usd,
            latency_ms=row.latency_ms,
        )

    def put(self, key: str, answer: CachedAnswer) -> None:
        """Store ``answer`` under ``key`` with one ``INSERT … ON CONFLICT``: ``refresh``
        overwrites a stored answer (hits kept), ``use`` keeps the first one stored (two variants
        that missed the same key at once both paid; the first answer stays).

        A database outage here is logged, not raised: the call was made and paid for, and its
        answer must still reach the run (a later ``only`` run then misses with a clear error).
        """
        row = LlmAnswerCache(
            key=key,
            text=answer.text,
            refusal=answer.refusal,
            finish_reason=answer.finish_reason,
            response_format=answer.mode,
            model=answer.model,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            cost_usd=answer.cost_usd,
            latency_ms=answer.latency_ms,
            created_at=timezone.now(),
        )
        try:
            if self.mode == LlmCacheMode.REFRESH:
                LlmAnswerCache.objects.bulk_create(
                    [row],
                    update_conflicts=True,
                    unique_fields=["key"],
                    update_fields=_STORED_FIELDS,
                )
            else:
                LlmAnswerCache.objects.bulk_create([row], ignore_conflicts=True)
        except (OperationalError, InterfaceError):
            logger.warning("LLM answer cache: answer %s not stored (database unavailable)", key)


class RecordedAnswerMissingError(SibylError):
    """A replay run in ``recorded`` mode whose source run recorded no answer (its llm step
    failed before one came back, or it is not a replay run at all)."""


class RecordedAnswerCache:
    """``llm_client.AnswerCache`` answering every request with the answer source run
    ``source_run_id`` recorded (module docstring). Mode ``only``: the client makes no request;
    ``get`` raises RecordedAnswerMissingError instead of missing; ``put`` stores nothing."""

    mode: str = LlmCacheMode.ONLY.value

    def __init__(self, source_run_id: int) -> None:
        self.source_run_id = source_run_id

    def get(self, key: str) -> CachedAnswer:
        """The source run's recorded answer, whatever ``key``: text from its ``raw_answer``
        artifact; model, response format, finish reason, tokens, cost (USD) and latency (ms)
        from its last LlmCall (none: the text alone). Raises RecordedAnswerMissingError."""
        artifact = (
            Artifact.objects.filter(
                step__run_id=self.source_run_id, step__name="llm", kind="raw_answer"
            )
            .order_by("-id")
            .first()
        )
        if artifact is None:
            raise RecordedAnswerMissingError(
                f"source run {self.source_run_id} recorded no LLM answer to replay"
            )
        with artifact.file.storage.open(artifact.file.name or "", "rb") as handle:
            text = handle.read().decode()
        call = LlmCall.objects.filter(run_id=self.source_run_id).order_by("-id").first()
        if call is None:
            return CachedAnswer(text=text, model="", mode="")
        return CachedAnswer(
            text=text,
            model=call.model,
            mode=call.response_format,
            finish_reason=call.finish_reason,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            cost_usd=call.cost_usd,
            latency_ms=call.latency_ms,
        )

    def put(self, key: str, answer: CachedAnswer) -> None:
        """Nothing: a recorded answer is never replaced."""


def answer_cache_for(*, run: Run) -> DatabaseAnswerCache | RecordedAnswerCache | None:
    """The answer cache the run's llm step passes to the analyst, or None (mode ``off``, and
    every live run). Mode ``recorded``: the source run's ``RecordedAnswerCache``; raises
    RecordedAnswerMissingError for a run that replays none."""
    mode = llm_cache_mode(run=run)
    if mode == LlmCacheMode.RECORDED:
        if run.replay_of_id is None:
            raise RecordedAnswerMissingError(
                f"run {run.pk} is in 'recorded' mode but replays no stored run"
            )
        return RecordedAnswerCache(run.replay_of_id)
    return None if mode == LlmCacheMode.OFF else DatabaseAnswerCache(mode)
