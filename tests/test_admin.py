"""The admin console shows every model: lists (with filters and search) and detail pages."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from apps.lineage.models import Run
from apps.pipeline.executor import strategy_run
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_with_orders(goog: Symbol) -> Run:
    strategy = StrategyFactory.create(symbol=goog, order_type="LMT")
    run = strategy_run(strategy=strategy, as_of=datetime(2012, 6, 1, tzinfo=UTC), trigger="manual")
    assert run.orders.exists()
    return run


@pytest.fixture
def staff_client(client: Client, django_user_model: Any) -> Client:
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


def test_every_model_has_a_working_list_and_detail_page(
    run_with_orders: Run, staff_client: Client
) -> None:
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label in {"auth"}:
            continue
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert staff_client.get(changelist).status_code == 200, changelist
        assert staff_client.get(changelist, {"q": "GOOG"}).status_code == 200, changelist
        first = model._default_manager.first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            assert staff_client.get(change).status_code == 200, change


def test_a_run_page_shows_its_steps_signal_and_orders(
    run_with_orders: Run, staff_client: Client
) -> None:
    page = staff_client.get(reverse("admin:lineage_run_change", args=[run_with_orders.pk]))
    html = page.content.decode()
    names = re.findall(r'<td class="field-name">\s*<p>(\w+)</p>', html)
    assert names == ["data", "indicators", "charts", "llm", "signal", "order"]
    assert f"sibyl-{run_with_orders.pk}-entry" in html
    assert "SELL (accepted)" in html
