"""Writing lineage: runs, their steps and artifacts. The one place lineage is recorded."""

import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Coalesce, Concat, NullIf
from django.utils import timezone

from apps.common import metrics
from apps.lineage.models import (
    Artifact,
    LlmCacheMode,
    Run,
    RunStatus,
    RunTrigger,
    Step,
    StepStatus,
)


def run_create(
    *,
    strategy_id: int,
    trigger: str = RunTrigger.MANUAL,
    as_of: datetime,
    scheduled_for: datetime | None = None,
    llm_cache: str = LlmCacheMode.OFF,
    anonymise: bool = False,
    replay_of_id: int | None = None,
) -> Run:
    """Create a pending run of a strategy as of ``as_of`` (tz-aware UTC).

    ``llm_cache``: the LLM answer cache mode (off/use/only/refresh; ``recorded`` for a replay
    run answering with its source's recorded answer), honoured only for the evaluation triggers
    ``backtest`` and ``replay`` (a live run keeps the field but never uses the cache).
    ``anonymise``: the leakage guard (``Run.anonymise``), evaluation triggers only.
    ``replay_of_id``: the stored run a replay run re-executes from the llm step. Raises
    ValueError for a naive time; django's ValidationError for an unknown trigger or mode, or an
    anonymised live run; IntegrityError when ``scheduled_for`` is already claimed, or the
    strategy already has a replay of ``replay_of_id``.
    """
    if timezone.is_naive(as_of):
        raise ValueError("as_of must be timezone-aware")
    run = Run(
        strategy_id=strategy_id,
        trigger=trigger,
        as_of=as_of,
        scheduled_for=scheduled_for,
        llm_cache=llm_cache,
        anonymise=anonymise,
        replay_of_id=replay_of_id,
    )
    run.full_clean(validate_constraints=False)
    run.save()
    return run


SLOT_INSERT_BATCH = 1000


@dataclass(frozen=True)
class SlotRun:
    """A schedule slot claimed for a strategy: the run to record for it.

    ``slot`` is the tz-aware slot time (the run's ``as_of`` and ``scheduled_for``); ``status``
    is ``pending`` (to be executed) or ``skipped`` (finished at once, ``reason`` saying why).
    """

    strategy_id: int
    slot: datetime
    status: str
    reason: str


def runs_claim_slots(*, slot_runs: list[SlotRun], now: datetime) -> list[tuple[int, str]]:
    """Record one scheduled run per claimed slot, unless that (strategy, slot) already has one.

    One ``INSERT … ON CONFLICT DO NOTHING RETURNING`` statement per batch of
    ``SLOT_INSERT_BATCH`` rows (atomic each; call it inside the caller's transaction to make
    them all one), so however many dispatchers race for a slot, only the first records it.
    Skipped runs are finished at ``now`` (tz-aware UTC) with ``reason`` as their error message.
    Returns (run id, status) of the rows this call created; slots already claimed are absent.
    """
    created: list[tuple[int, str]] = []
    for start in range(0, len(slot_runs), SLOT_INSERT_BATCH):
        batch = slot_runs[start : start + SLOT_INSERT_BATCH]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, 0)"] * len(batch))
        params: list[Any] = []
        for slot_run in batch:
            finished = now if slot_run.status == RunStatus.SKIPPED else None
            params += [
                slot_run.strategy_id,
                RunTrigger.SCHEDULE,
                slot_run.slot,
                slot_run.slot,
                slot_run.status,
                now,
                finished,
                "",
                slot_run.reason,
            ]
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO lineage_run (strategy_id, trigger, as_of, scheduled_for, status, "
                "created_at, finished_at, current_step, error_message, enqueue_count) "
                f"VALUES {values} ON CONFLICT DO NOTHING RETURNING id, status",
                params,
            )
            created += [(row[0], row[1]) for row in cursor.fetchall()]
    return created


def run_start(*, run: Run) -> bool:
    """Claim a pending run for execution: True if this caller moved it to running.

    A conditional UPDATE, so a re-delivered task or a second worker finds it taken (False) and
    must not execute it again.
    """
    now = timezone.now()
    claimed = Run.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if claimed:
        run.status, run.started_at, run.heartbeat_at = RunStatus.RUNNING, now, now
        metrics.run_started(trigger=run.trigger, scheduled_for=run.scheduled_for, started_at=now)
    return claimed == 1


def runs_mark_enqueued(*, run_ids: list[int], at: datetime) -> int:
    """Record that the tasks of ``run_ids`` were sent to the runs queue at ``at`` (tz-aware UTC):
    ``enqueued_at`` becomes ``at`` and ``enqueue_count`` grows by one, for runs still pending.

    Returns how many runs were marked. The pending-run pass judges a run lost by this time.
    """
    return Run.objects.filter(pk__in=run_ids, status=RunStatus.PENDING).update(
        enqueued_at=at, enqueue_count=F("enqueue_count") + 1
    )


def runs_expire(*, reasons: dict[int, str], at: datetime) -> list[int]:
    """Mark pending runs expired: their task never started and they are too old to run now.

    ``reasons`` maps run id to the reason kept in ``error_message``; ``at`` (tz-aware UTC)
    becomes ``finished_at``. Conditional on the run still being pending, so a run a worker
    claimed meanwhile executes and is not expired (one UPDATE per distinct reason).
    Returns the ids expired.
    """
    by_reason: dict[str, list[int]] = {}
    for run_id, reason in reasons.items():
        by_reason.setdefault(reason, []).append(run_id)
    expired: list[int] = []
    for reason, ids in by_reason.items():
        with transaction.atomic():
            # Locked first: a worker's claim (run_start) waits, then finds the run expired.
            matched = list(
                Run.objects.select_for_update()
                .filter(pk__in=ids, status=RunStatus.PENDING)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            Run.objects.filter(pk__in=matched).update(
                status=RunStatus.EXPIRED, finished_at=at, error_message=reason
            )
        metrics.runs_finished(status=RunStatus.EXPIRED, triggers=_triggers(matched))
        expired += matched
    return expired


def run_note_start_failure(*, run_id: int, error_message: str) -> bool:
    """Keep on a still-pending run why a worker could not start it (``error_message``), so a
    run that is later expired says what went wrong; the run stays pending for the pending-run
    pass to send again. Returns False when the run is no longer pending."""
    return (
        Run.objects.filter(pk=run_id, status=RunStatus.PENDING).update(error_message=error_message)
        == 1
    )


class RunNotRunningError(Exception):
    """The run was taken away from this worker (marked abandoned by the reaper): stop now."""


def run_finish(*, run: Run, error_message: str = "") -> None:
    """Mark a running run succeeded, or failed with ``error_message``.

    Conditional on the run still being ``running``: a run the reaper marked abandoned keeps
    that status (its worker was presumed dead and its outcome is reconciled elsewhere).
    """
    status = RunStatus.FAILED if error_message else RunStatus.SUCCEEDED
    now = timezone.now()
    updated = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        status=status, error_message=error_message, finished_at=now
    )
    if updated:
        run.status, run.error_message, run.finished_at = status, error_message, now
        metrics.run_finished(status=status, trigger=run.trigger)
    else:
        run.refresh_from_db()


def run_crash(*, run: Run, error: Exception) -> bool:
    """Fail a running run after an error its executor could not record (e.g. the database
    dropped mid-step, so neither the step nor the run could be written): the run becomes
    ``failed`` with ``worker: <ErrorType>: <message>`` and the step still ``running`` becomes
    ``failed`` with that error. Conditional on the run still running (a run the reaper marked
    abandoned keeps that status). Returns True if this call failed the run."""
    message = f"worker: {type(error).__name__}: {error}"
    now = timezone.now()
    with transaction.atomic():
        failed = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, error_message=message, finished_at=now
        )
        if failed:
            Step.objects.filter(run_id=run.pk, status=StepStatus.RUNNING).update(
                status=StepStatus.FAILED,
                finished_at=now,
                error_type=type(error).__name__,
                error_message=str(error) or repr(error),
            )
    run.refresh_from_db()
    if failed:
        metrics.run_finished(status=RunStatus.FAILED, trigger=run.trigger)
    return failed == 1


def _artifact_storage() -> Storage:
    storage: Storage = Artifact._meta.get_field("file").storage  # type: ignore[attr-defined]
    return storage


def _lock_file_name(name: str) -> None:
    """Take a transaction-scoped PostgreSQL advisory lock on a stored file's name, so that
    writing a row that references the file and deleting the file when no row does never
    interleave (call inside ``transaction.atomic``). Other databases (the demo's SQLite) take
    none: SQLite lets one writer at a time."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


CONTENT_ADDRESSED_PREFIX = "artifacts/sha256/"


def artifact_file_name(*, sha256: str, filename: str) -> str:
    """The storage name of content with hex digest ``sha256``: ``artifacts/sha256/ab/<sha256>``
    followed by ``filename``'s extension (``.png``, ``.json``; none when it has none)."""
    ext = os.path.splitext(filename)[1].lower()
    return f"{CONTENT_ADDRESSED_PREFIX}{sha256[:2]}/{sha256}{ext}"


def artifact_store(
    *,
    step: Step,
    kind: str,
    filename: str,
    content: bytes,
    content_type: str,
    input_sha256: str = "",
) -> Artifact:
    """Record an artifact of ``step`` whose file is stored once per content hash.

    The bytes' SHA-256 names the file (``artifact_file_name``); when storage already holds it,
    the new row points at the same file and nothing is written. Under an advisory lock on the
    file name, so retention (``artifact_files_release``) cannot delete the file between the
    check and the row's commit. ``input_sha256``: the hash of the input a derived file was
    made from (see ``artifact_content_for_input``). A stored file of the wrong size (a write
    cut short) is written again. Returns the saved row. Raises RuntimeError when storage kept
    the bytes under another name (a writer that bypassed the lock).
    """
    digest = hashlib.sha256(content).hexdigest()
    name = artifact_file_name(sha256=digest, filename=filename)
    storage = _artifact_storage()
    artifact = Artifact(
        step=step,
        kind=kind,
        file=name,
        content_type=content_type,
        size_bytes=len(content),
        sha256=digest,
        input_sha256=input_sha256,
    )
    with transaction.atomic():
        # the row (invisible to others until the commit) and the lock in one round trip; the
        # file is checked under the lock and the commit releases it, as with lock-then-insert
        _insert_locked(artifact, name)
        exists = storage.exists(name)
        if exists and storage.size(name) != len(content):  # a write cut short by a crash
            storage.delete(name)
            exists = False
        if not exists:
            saved = storage.save(name, ContentFile(content))
            if saved != name:
                raise RuntimeError(f"artifact stored as {saved}, expected {name}")
    return artifact


_ARTIFACT_INSERT_SQL = (
    "WITH locked AS (SELECT pg_advisory_xact_lock(hashtextextended(%s, 0)))"
    " INSERT INTO lineage_artifact (step_id, kind, file, content_type, size_bytes, sha256,"
    " input_sha256, created_at) SELECT %s, %s, %s, %s, %s, %s, %s, %s FROM locked RETURNING id"
)


def _insert_locked(artifact: Artifact, name: str) -> None:
    """Insert ``artifact`` (unsaved) and take the advisory lock on file ``name`` (see
    ``_lock_file_name``), in one statement on PostgreSQL; call inside ``transaction.atomic``."""
    if connection.vendor != "postgresql":
        _lock_file_name(name)
        artifact.save()
        return
    artifact.created_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _ARTIFACT_INSERT_SQL,
            [
                name,
                artifact.step_id,
                artifact.kind,
                name,
                artifact.content_type,
                artifact.size_bytes,
                artifact.sha256,
                artifact.input_sha256,
                artifact.created_at,
            ],
        )
        artifact.pk = cursor.fetchone()[0]
    artifact._state.adding = False
    artifact._state.db = connection.alias


def artifact_link(*, step: Step, source: Artifact) -> Artifact:
    """Record that ``step`` reuses the stored artifact ``source`` (a replay run's charts step
    reusing its source run's chart): a new row of the same kind pointing at the same
    content-addressed file, with the same hashes — no byte is read or written. Under the
    advisory lock on the file name (as ``artifact_store``), so retention cannot delete the file
    meanwhile. Raises FileNotFoundError when the file is no longer in storage; ValueError for
    a row stored before content addressing (its file belongs to that row alone)."""
    if not source.sha256:
        raise ValueError(f"artifact {source.pk} is not content-addressed: it cannot be shared")
    name = source.file.name or ""
    with transaction.atomic():
        _lock_file_name(name)
        if not _artifact_storage().exists(name):
            raise FileNotFoundError(f"artifact {source.pk}'s file {name} is no longer stored")
        return Artifact.objects.create(
            step=step,
            kind=source.kind,
            file=name,
            content_type=source.content_type,
            size_bytes=source.size_bytes,
            sha256=source.sha256,
            input_sha256=source.input_sha256,
        )


def artifact_content_for_input(*, kind: str, input_sha256: str) -> bytes | None:
    """The bytes of a stored artifact of ``kind`` made from the input hashed ``input_sha256``
    (the newest such row), or None when there is none or its file cannot be read back intact
    (deleted meanwhile, or its bytes no longer match the row's ``sha256``)."""
    row = (
        Artifact.objects.filter(kind=kind, input_sha256=input_sha256)
        .exclude(sha256="")
        .order_by("-id")
        .values_list("file", "sha256")
        .first()
    )
    if row is None:
        return None
    name, digest = row
    try:
        with _artifact_storage().open(name, "rb") as handle:
            content: bytes = handle.read()
    except OSError:
        return None
    return content if hashlib.sha256(content).hexdigest() == digest else None


def artifact_files_release(*, names: list[str]) -> int:
    """Delete from storage the files of artifact rows already deleted, unless a remaining row
    still references them. A content-addressed file (``artifacts/sha256/…``, see
    ``artifact_file_name``) is looked up by the hash in its name (indexed) and its name; any
    other file was stored before content addressing and belonged to its row alone. Each check
    and delete holds the advisory lock on the file name (``artifact_store`` takes it too).
    Returns how many files were deleted."""
    storage = _artifact_storage()
    deleted = 0
    for name in sorted(set(names)):
        with transaction.atomic():
            _lock_file_name(name)
            if name.startswith(CONTENT_ADDRESSED_PREFIX):
                digest = os.path.splitext(os.path.basename(name))[0]
                if Artifact.objects.filter(sha256=digest, file=name).exists():
                    continue
            if storage.exists(name):
                storage.delete(name)
                deleted += 1
    return deleted


@dataclass
class StepRecorder:
    """Collects what one step produced while it runs; written when the step ends."""

    step: Step
    output: dict[str, Any] = field(default_factory=dict)

    def add_artifact(
        self,
        *,
        kind: str,
        filename: str,
        content: bytes,
        content_type: str,
        input_sha256: str = "",
    ) -> Artifact:
        """Store a file once per content hash and link it to the step (``artifact_store``)."""
        return artifact_store(
            step=self.step,
            kind=kind,
            filename=filename,
            content=content,
            content_type=content_type,
            input_sha256=input_sha256,
        )


@contextmanager
def step_record(
    *, run: Run, name: str, sequence: int, step_input: dict[str, Any]
) -> Iterator[StepRecorder]:
    """Record one step around the block: its output and duration, or the error that ended it.

    The exception is re-raised after it is recorded, so the caller decides what a failure does.
    Raises RunNotRunningError, before recording anything, when the run is no longer running
    (the reaper marked it abandoned): no further step may start, and no order be sent.
    """
    started = time.perf_counter()
    step = _step_begin(run=run, name=name, sequence=sequence, step_input=step_input)
    if step is None:
        raise RunNotRunningError(f"run {run.pk} is no longer running; step {name} not started")
    recorder = StepRecorder(step=step)
    try:
        yield recorder
    except Exception as error:
        _step_end(step, started, recorder.output, StepStatus.FAILED, error)
        raise
    _step_end(step, started, recorder.output, StepStatus.SUCCEEDED, None)


_STEP_BEGIN_SQL = (
    "WITH alive AS (UPDATE lineage_run SET current_step = %s, heartbeat_at = %s"
    " WHERE id = %s AND status = %s RETURNING id)"
    " INSERT INTO lineage_step (run_id, name, sequence, status, started_at, input, output,"
    " error_type, error_message) SELECT id, %s, %s, %s, %s, %s, %s, '', '' FROM alive"
    " RETURNING id"
)


def _step_begin(*, run: Run, name: str, sequence: int, step_input: dict[str, Any]) -> Step | None:
    """Atomically, if ``run`` is still running: set its current step and heartbeat and insert
    the step ``running``; the saved Step, or None when the run is no longer running.

    On PostgreSQL one statement (an UPDATE … RETURNING feeding the INSERT), so a step costs
    one round trip and one commit to begin, not four; elsewhere (the demo's SQLite) the two
    ORM writes in one transaction. Raises IntegrityError when the run already has a step of
    that ``sequence``."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            alive = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                current_step=name, heartbeat_at=now
            )
            if not alive:
                return None
            return Step.objects.create(
                run=run,
                name=name,
                sequence=sequence,
                status=StepStatus.RUNNING,
                started_at=now,
                input=step_input,
            )
    json_field = Step._meta.get_field("input")
    params = [
        name,
        now,
        run.pk,
        RunStatus.RUNNING,
        name,
        sequence,
        StepStatus.RUNNING,
        now,
        json_field.get_db_prep_value(step_input, connection),
        json_field.get_db_prep_value({}, connection),
    ]
    # in a caller's transaction, a savepoint: a failed insert leaves that transaction usable
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(_STEP_BEGIN_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    step = Step(
        id=row[0],
        run=run,
        name=name,
        sequence=sequence,
        status=StepStatus.RUNNING,
        started_at=now,
        input=step_input,
    )
    step._state.adding = False
    step._state.db = connection.alias
    return step


def step_fail(*, step: Step, output: dict[str, Any], error_type: str, error_message: str) -> None:
    """Mark a step failed after the fact, with the output it had gathered: for a step whose own
    ending could not be written (the database went away during it). ``duration_ms`` stays
    unknown (null)."""
    Step.objects.filter(pk=step.pk).update(
        status=StepStatus.FAILED,
        output=output,
        finished_at=timezone.now(),
        error_type=error_type,
        error_message=error_message,
    )


def _triggers(run_ids: list[int]) -> list[str]:
    """The trigger of each run in ``run_ids`` (one query; for counting them by trigger)."""
    if not run_ids:
        return []
    return list(Run.objects.filter(pk__in=run_ids).values_list("trigger", flat=True))


def run_skip(*, run: Run, reason: str) -> bool:
    """Mark a pending ``run`` skipped without executing it (a replay's source run that cannot
    be replayed), ``reason`` as its error message. Returns False when it was not pending."""
    return bool(
        Run.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
            status=RunStatus.SKIPPED, error_message=reason, finished_at=timezone.now()
        )
    )


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
    metrics.step_finished(step=step.name, status=status, duration_s=step.duration_ms / 1000.0)
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


# Appends to one run are serialized by a row lock on the run; an insert racing a step written
# without that lock (the executor's own steps) loses on the unique (run, sequence) and retries.
APPEND_TRIES = 5


def step_append(*, run: Run, name: str, output: dict[str, Any], error: str = "") -> Step:
    """Record work done on a run after it finished (e.g. the order monitor's fills), as the
    run's next step, so the run's lineage tells the whole story of its orders. The one way to
    add a step to a run from outside its executor.

    Under a row lock on the run (``SELECT … FOR NO KEY UPDATE``, held until the caller's
    transaction ends), the step takes the run's last sequence + 1: concurrent appends to the
    same run wait for each other and each is recorded. A step inserted by a writer that does
    not take the lock is met by the unique (run, sequence): the append retries with the next
    sequence (in a savepoint, so a caller's transaction survives). Returns the step
    (``succeeded``, or ``failed`` with ``MonitorError`` and ``error`` when ``error`` is given).

    Raises Run.DoesNotExist when the run is gone, IntegrityError after ``APPEND_TRIES`` lost
    races.
    """
    for attempt in range(1, APPEND_TRIES + 1):
        try:
            with transaction.atomic():
                Run.objects.select_for_update(no_key=True).only("pk").get(pk=run.pk)
                last = (
                    Step.objects.filter(run_id=run.pk)
                    .order_by("-sequence")
                    .values_list("sequence", flat=True)
                    .first()
                )
                now = timezone.now()
                return Step.objects.create(
                    run=run,
                    name=name,
                    sequence=(last or 0) + 1,
                    status=StepStatus.FAILED if error else StepStatus.SUCCEEDED,
                    started_at=now,
                    finished_at=now,
                    duration_ms=0.0,
                    output=output,
                    error_type="MonitorError" if error else "",
                    error_message=error,
                )
        except IntegrityError:
            if attempt == APPEND_TRIES:
                raise
    raise AssertionError("unreachable")


def run_mark_recovered(*, run: Run) -> bool:
    """Mark a ``failed`` or ``abandoned`` run ``recovered`` (its orders reached the broker
    after all; the caller knows that, lineage does not). ``error_message`` and ``finished_at``
    are kept. True if this call moved it; a conditional update, so concurrent callers move it
    once and a run in any other status is left alone."""
    moved = Run.objects.filter(
        pk=run.pk, status__in=(RunStatus.FAILED, RunStatus.ABANDONED)
    ).update(status=RunStatus.RECOVERED)
    if moved:
        run.status = RunStatus.RECOVERED
    return moved == 1


def runs_mark_abandoned(*, older_than: datetime) -> list[Run]:
    """Mark running runs whose last heartbeat is before ``older_than`` (tz-aware UTC) as
    abandoned, with ``error_message`` "worker lost during step <current step or (none)>"; their
    step still ``running`` becomes ``failed`` (``WorkerLost``).

    Their worker died (or hung past the hard time limit). They are never resumed. Each run is
    marked by a conditional UPDATE (still ``running``, heartbeat still before ``older_than``),
    like ``run_start``: a run that finished, or beat, since it was read is left alone. Returns
    the runs marked (as stored afterwards).
    """
    candidates = Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=older_than)
    reason = Concat(
        Value("worker lost during step "),
        Coalesce(NullIf(F("current_step"), Value("")), Value("(none)")),
        output_field=TextField(),
    )
    marked: list[Run] = []
    for run_id in candidates.order_by("pk").values_list("pk", flat=True):
        now = timezone.now()
        with transaction.atomic():
            moved = Run.objects.filter(
                pk=run_id, status=RunStatus.RUNNING, heartbeat_at__lt=older_than
            ).update(status=RunStatus.ABANDONED, finished_at=now, error_message=reason)
            if not moved:
                continue
            Step.objects.filter(run_id=run_id, status=StepStatus.RUNNING).update(
                status=StepStatus.FAILED,
                finished_at=now,
                error_type="WorkerLost",
                error_message="the worker executing this step died or hung past the time limit",
            )
        marked.append(Run.objects.get(pk=run_id))
        metrics.run_finished(status=RunStatus.ABANDONED, trigger=marked[-1].trigger)
    return marked
