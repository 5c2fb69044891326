"""Lineage of orders after their run's own steps: a note on the run that owns the orders.

Whatever happens to a bracket later — fills and statuses from a poll or from broker events,
adoption by client order reference, a reconciliation, a retry — is appended to the run whose
orders it concerns, with that run's own figures and its orders' statuses, never to the other
runs that shared a batch of broker news. A ``failed`` or ``abandoned`` run whose bracket turns
out to be at the broker (adopted, resent, or sent before the failure) becomes ``recovered``.
"""

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from apps.lineage.models import ACTIVE_RUN_STATUSES, Run, RunStatus, Step
from apps.lineage.services import run_mark_recovered, step_append
from apps.orders.models import Order, OrderStatus
from apps.orders.services import RunNews

# Orders that reached the broker and are (or were) live there: the bracket is in the market.
AT_BROKER = (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
RECOVERABLE = (RunStatus.FAILED, RunStatus.ABANDONED)


def _bracket_at_broker(run: Run) -> bool:
    return Order.objects.filter(run=run, status__in=AT_BROKER).exists()


def run_note(*, run: Run, name: str, output: Mapping[str, Any], error: str = "") -> Step:
    """Append step ``name`` to ``run`` with ``output`` plus ``orders`` (each client order
    reference of the run -> its status now) and ``run_status``.

    First, a ``failed`` or ``abandoned`` run with an order ``submitted``, ``partially_filled``
    or ``filled`` is marked ``recovered`` (its bracket is in the market despite the failure),
    so the note shows the status the run has from then on. ``error`` makes the step failed
    (``MonitorError``). Concurrent appends to the run are retried with the next sequence
    (``step_append``).
    """
    run.refresh_from_db(fields=["status"])
    if run.status in RECOVERABLE and _bracket_at_broker(run) and not run_mark_recovered(run=run):
        # Another process (broker news noted concurrently) moved it meanwhile: note what it is.
        run.refresh_from_db(fields=["status"])
    orders = dict(
        Order.objects.filter(run=run).order_by("pk").values_list("client_order_ref", "status")
    )
    return step_append(
        run=run,
        name=name,
        output={**output, "orders": orders, "run_status": run.status},
        error=error,
    )


def runs_note(*, name: str, news: Mapping[int, RunNews]) -> list[Step]:
    """Note broker news on each finished run it changed (run id -> that run's ``RunNews``):
    step ``name`` with ``new_fills``, ``status_changes``, ``adopted`` and ``unknown_at_broker``
    (see ``run_note``). A ``pending`` or ``running`` run is left alone: its order step reports
    its own orders, and a run whose worker died is noted once the reaper has marked it
    abandoned (``runs_recover``). Returns the steps appended."""
    changed = {run_id: n for run_id, n in news.items() if n.changed}
    runs = Run.objects.filter(pk__in=changed).exclude(status__in=ACTIVE_RUN_STATUSES)
    return [run_note(run=run, name=name, output=asdict(changed[run.pk])) for run in runs]


def runs_recover() -> list[Run]:
    """Mark ``recovered`` every ``failed`` or ``abandoned`` run whose bracket is at the broker
    (an order ``submitted``, ``partially_filled`` or ``filled``) and append a ``recovered``
    step with its orders' statuses: the safety net for brackets adopted while their run still
    looked ``running`` (its worker dead, not yet reaped). Returns the runs marked."""
    stranded = Run.objects.filter(
        status__in=RECOVERABLE, pk__in=Order.objects.filter(status__in=AT_BROKER).values("run_id")
    )
    recovered = []
    for run in stranded:
        if run_mark_recovered(run=run):
            run_note(run=run, name="recovered", output={"reason": run.error_message})
            recovered.append(run)
    return recovered
