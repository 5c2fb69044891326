"""Writing lineage: runs, their steps and artifacts. The one place lineage is recorded."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from apps.lineage.models import Artifact, Run, RunStatus, RunTrigger, Step, StepStatus


def run_create(*, strategy_id: int, trigger: str = RunTrigger.MANUAL, as_of: datetime) -> Run:
    """Create a pending run of a strategy as of ``as_of`` (tz-aware UTC)."""
    if timezone.is_naive(as_of):
        raise ValueError("as_of must be timezone-aware")
    run = Run(strategy_id=strategy_id, trigger=trigger, as_of=as_of)
    run.full_clean()
    run.save()
    return run


def run_start(*, run: Run) -> None:
    """Mark a run as running now."""
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])


def run_finish(*, run: Run, error_message: str = "") -> None:
    """Mark a run succeeded, or failed with ``error_message``."""
    run.status = RunStatus.FAILED if error_message else RunStatus.SUCCEEDED
    run.error_message = error_message
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error_message", "finished_at"])


@dataclass
class StepRecorder:
    """Collects what one step produced while it runs; written when the step ends."""

    step: Step
    output: dict[str, Any] = field(default_factory=dict)

    def add_artifact(self, *, kind: str, filename: str, content: bytes, content_type: str) -> None:
        """Save a file through Django's storage and link it to the step."""
        artifact = Artifact(
            step=self.step, kind=kind, content_type=content_type, size_bytes=len(content)
        )
        artifact.file.save(f"run{self.step.run_id}-{filename}", ContentFile(content), save=True)


@contextmanager
def step_record(
    *, run: Run, name: str, sequence: int, step_input: dict[str, Any]
) -> Iterator[StepRecorder]:
    """Record one step around the block: its output and duration, or the error that ended it.

    The exception is re-raised after it is recorded, so the caller decides what a failure does.
    """
    started = time.perf_counter()
    step = Step.objects.create(
        run=run,
        name=name,
        sequence=sequence,
        status=StepStatus.RUNNING,
        started_at=timezone.now(),
        input=step_input,
    )
    recorder = StepRecorder(step=step)
    try:
        yield recorder
    except Exception as error:
        _step_end(step, started, recorder.output, StepStatus.FAILED, error)
        raise
    _step_end(step, started, recorder.output, StepStatus.SUCCEEDED, None)


def step_skip(*, run: Run, name: str, sequence: int, reason: str) -> Step:
    """Record a step that did not run (e.g. the order step after a HOLD)."""
    now = timezone.now()
    return Step.objects.create(
        run=run,
        name=name,
        sequence=sequence,
        status=StepStatus.SKIPPED,
        started_at=now,
        finished_at=now,
        duration_ms=0.0,
        output={"skipped": reason},
    )


def _step_end(
    step: Step, started: float, output: dict[str, Any], status: str, error: Exception | None
) -> None:
    step.status = status
    step.output = output
    step.finished_at = timezone.now()
    step.duration_ms = round((time.perf_counter() - started) * 1000.0, 3)
    if error is not None:
        step.error_type = type(error).__name__
        step.error_message = str(error) or repr(error)
    step.save(
        update_fields=[
            "status",
            "output",
            "finished_at",
            "duration_ms",
            "error_type",
            "error_message",
        ]
    )
