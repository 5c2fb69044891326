"""The signals API: list with filters and one signal with its checks, on real runs."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.lineage.models import Run
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from tests.api.conftest import results
from tests.api.helpers import baseline_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted(goog: Symbol, trader: User) -> Signal:
    """The trader's accepted SELL of the baseline run as of 2012-06-01."""
    return Signal.objects.get(run=baseline_run(goog, trader))


@pytest.fixture
def rejected(goog: Symbol, trader: User) -> Signal:
    """The trader's SELL rejected for its reward/risk (minimum 50)."""
    return Signal.objects.get(run=baseline_run(goog, trader, min_reward_risk=Decimal("50")))


def test_signal_detail_has_checks_and_run(api: APIClient, rejected: Signal) -> None:
    response = api.get(f"/api/v1/signals/{rejected.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["run_id"] == rejected.run_id and body["strategy_id"] == rejected.strategy_id
    assert body["action"] == "SELL" and body["status"] == "rejected"
    assert (body["strategy_name"], body["symbol"]) == (rejected.strategy.name, "GOOG")
    failed = [c for c in body["checks"] if not c["passed"]]
    assert failed, body["checks"]
    assert any("reward/risk" in c["detail"] for c in failed)
    assert body["rejection_reasons"] and Decimal(body["entry"]) > 0


def test_signal_list_filters(
    api: APIClient, accepted: Signal, rejected: Signal, trader: User
) -> None:
    def ids(query: str) -> set[int]:
        response = api.get(f"/api/v1/signals/?{query}")
        assert response.status_code == 200, response.content
        return {s["id"] for s in results(response)}

    assert ids("") == {accepted.pk, rejected.pk}
    assert ids("status=accepted") == {accepted.pk}
    assert ids("status=rejected") == {rejected.pk}
    assert ids(f"strategy={rejected.strategy_id}") == {rejected.pk}
    assert ids("action=BUY") == set()
    assert ids("action=SELL") == {accepted.pk, rejected.pk}
    assert ids("created_after=2100-01-01T00:00:00Z") == set()
    assert ids("created_before=2100-01-01T00:00:00Z") == {accepted.pk, rejected.pk}
    assert api.get("/api/v1/signals/?page_size=1").json()["count"] == 2


def test_signal_list_names_without_a_query_per_row(
    api: APIClient, accepted: Signal, rejected: Signal, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(6):  # auth, count, page, checks (prefetch), no per row
        rows = results(api.get("/api/v1/signals/"))
    assert {(r["strategy_name"], r["symbol"]) for r in rows} == {
        (accepted.strategy.name, "GOOG"),
        (rejected.strategy.name, "GOOG"),
    }


def test_anonymous_gets_401(anonymous: APIClient, accepted: Signal) -> None:
    assert anonymous.get("/api/v1/signals/").status_code == 401
    assert anonymous.get(f"/api/v1/signals/{accepted.pk}/").status_code == 401


def test_another_users_signal_is_404(other_api: APIClient, accepted: Signal) -> None:
    assert other_api.get(f"/api/v1/signals/{accepted.pk}/").status_code == 404
    assert results(other_api.get("/api/v1/signals/")) == []


def test_staff_see_every_signal(staff_api: APIClient, accepted: Signal) -> None:
    run = Run.objects.get(pk=accepted.run_id)
    run.strategy.owner = None
    run.strategy.save(update_fields=["owner"])
    assert [s["id"] for s in results(staff_api.get("/api/v1/signals/"))] == [accepted.pk]
    assert staff_api.get(f"/api/v1/signals/{accepted.pk}/").status_code == 200
