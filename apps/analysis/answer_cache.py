"""The LLM answer cache of evaluation runs (backtests and replays), in the database.

A run's ``llm_cache`` mode (``lineage.Run``) is honoured only when its trigger is an
evaluation trigger (``backtest``, ``replay``); for a live run (``schedule``, ``manual``,
``api``) the mode is ``off`` whatever the field says, so a live decision always comes from a
real call. ``LlmClient.complete`` computes the key of exactly what it would send and asks the
``DatabaseAnswerCache`` given to it; the client itself knows no Django model.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.db.models import F
from django.utils import timezone

from apps.analysis.llm_client import CachedAnswer
from apps.analysis.models import LlmAnswerCache
from apps.lineage.models import EVALUATION_TRIGGERS, LlmCacheMode, Run

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


def answer_cache_for(*, run: Run) -> DatabaseAnswerCache | None:
    """The answer cache the run's llm step passes to the analyst, or None (mode ``off``, and
    every live run)."""
    mode = llm_cache_mode(run=run)
    return None if mode == LlmCacheMode.OFF else DatabaseAnswerCache(mode)
