"""Notes on the run that owns the orders (``apps.orders.run_notes``) against real PostgreSQL:
a concurrent append to the same run costs a retry, not the note."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from apps.lineage.models import Run, Step
from apps.orders.models import Order
from apps.orders.run_notes import run_note
from tests.orders.helpers import make_bracket, make_strategy

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(cursor.fetchone()[0])


def test_a_note_racing_another_append_to_the_run_takes_the_next_sequence() -> None:
    # given a finished run with a bracket, and another process that has just inserted the
    # run's next step (sequence 1) in a transaction it has not committed yet
    orders = make_bracket(make_strategy())
    assert orders[0].run is not None
    run = orders[0].run
    Run.objects.filter(pk=run.pk).update(status="succeeded", finished_at=timezone.now())
    inserted, release = threading.Event(), threading.Event()

    def other_process() -> None:
        try:
            with transaction.atomic():
                now = timezone.now()
                Step.objects.create(
                    run_id=run.pk, name="broker", sequence=1, status="succeeded", started_at=now
                )
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_process)
    other.start()
    assert inserted.wait(10)

    def commit_once_the_note_waits_on_it() -> None:
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()

    committer = threading.Thread(target=commit_once_the_note_waits_on_it)
    committer.start()
    # when a note is appended meanwhile: it computes sequence 1 too and waits on that row
    try:
        step = run_note(run=run, name="monitor", output={"new_fills": 1})
    finally:
        release.set()
        committer.join()
        other.join()
    # then the other process's step stands and the note is the one after it
    assert step.sequence == 2
    assert list(run.steps.order_by("sequence").values_list("sequence", "name")) == [
        (1, "broker"),
        (2, "monitor"),
    ]
    assert step.output["orders"] == {o.client_order_ref: "pending" for o in orders}
    assert Order.objects.filter(run=run).count() == 3
