"""The approval queue: a strategy whose approval is required has its sized bracket held unsent;
a person approves it (the quantity edited down), rejects it, or it expires; a double approval
sends it once; the kill switch still applies when it is approved; another user sees nothing;
backtests never wait; signed notification links show on GET and act on POST only."""

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.lineage.models import Run
from apps.orders.approvals import (
    ApprovalError,
    approval_approve,
    approval_link_read,
    approval_links,
    approvals_expire,
)
from apps.orders.broker_selection import broker_named
from apps.orders.brokers import BracketSpec, Broker, BrokerOrderState
from apps.orders.models import Order, OrderApproval, PaperOrder
from apps.orders.position_actions import positions_close_all
from apps.pipeline.executor import strategy_run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.trading_state import trading_state_set
from tests.factories import StrategyFactory, UserFactory
from tests.factories import decision_answer as decision
from tests.pipeline.test_position_actions import AS_OF, run_answering

pytestmark = pytest.mark.django_db
D = Decimal


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _owner(strategy: Strategy) -> User:
    assert strategy.owner is not None
    return strategy.owner


def _strategy(goog: Symbol, **fields: Any) -> Strategy:
    owner = fields.pop("owner", None) or UserFactory.create()
    fields.setdefault("approval", "required")
    return StrategyFactory.create(symbol=goog, analyst="openai", owner=owner, **fields)


def _held(goog: Symbol, llm_server: Any, **fields: Any) -> tuple[Strategy, Run, OrderApproval]:
    strategy = _strategy(goog, **fields)
    run = run_answering(strategy, llm_server, decision())
    assert run.status == "succeeded", run.error_message
    return strategy, run, OrderApproval.objects.get(run=run)


def test_the_order_step_holds_the_sized_bracket_and_sends_nothing(
    goog: Symbol, llm_server: Any
) -> None:
    _, run, approval = _held(goog, llm_server)

    orders = list(Order.objects.filter(run=run).order_by("pk"))
    assert [o.role for o in orders] == ["entry", "take_profit", "stop_loss"]
    assert {o.status for o in orders} == {"awaiting_approval"}
    assert not PaperOrder.objects.exists()
    assert approval.status == "pending" and approval.parent_id == orders[0].pk
    assert approval.requested_quantity == orders[0].quantity > 0
    # Before the next bar: the run is dated in the past, so one daily bar from now.
    assert timezone.now() < approval.expires_at <= timezone.now() + timedelta(days=1)
    step = run.steps.get(name="order")
    assert step.status == "succeeded"
    waiting = step.output["awaiting_approval"]
    assert waiting["approval"] == approval.pk
    assert waiting["why"] == "the strategy's approval is required"
    assert "awaits approval until" in waiting["reason"]


def test_approve_sends_the_bracket_and_records_who(goog: Symbol, llm_server: Any) -> None:
    strategy, run, approval = _held(goog, llm_server)

    response = _api(_owner(strategy)).post(f"/api/v1/approvals/{approval.pk}/approve/", {})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert body["decided_by"] == _owner(strategy).username
    assert {o["status"] for o in body["orders"]} == {"submitted"}
    assert PaperOrder.objects.count() == 3
    approval.refresh_from_db()
    assert approval.approved_quantity == approval.requested_quantity
    assert approval.decided_by == _owner(strategy) and approval.decided_at is not None
    note = run.steps.get(name="approval")
    assert note.output["status"] == "approved"
    assert note.output["decided_by"] == _owner(strategy).username


def test_approve_with_the_quantity_edited_down_resizes_the_children(
    goog: Symbol, llm_server: Any
) -> None:
    strategy, run, approval = _held(goog, llm_server)
    client = _api(_owner(strategy))
    more = approval.requested_quantity + 1

    up = client.post(f"/api/v1/approvals/{approval.pk}/approve/", {"quantity": str(more)})
    assert up.status_code == 400 and "edited down only" in up.json()["detail"]
    fraction = client.post(f"/api/v1/approvals/{approval.pk}/approve/", {"quantity": "1.5"})
    assert fraction.status_code == 400
    assert not PaperOrder.objects.exists()

    response = client.post(f"/api/v1/approvals/{approval.pk}/approve/", {"quantity": "3"})

    assert response.status_code == 200, response.content
    orders = Order.objects.filter(run=run)
    assert {o.quantity for o in orders} == {D(3)}
    assert {p.quantity for p in PaperOrder.objects.all()} == {D(3)}
    prices = {o.role: (o.limit_price, o.stop_price) for o in orders}
    signal = orders.get(role="entry").signal
    assert signal is not None and signal.entry is not None and signal.stop_loss is not None
    assert prices["take_profit"][0] == signal.take_profit  # reward/risk unchanged
    assert prices["stop_loss"][1] == signal.stop_loss
    lineage = response.json()["lineage"]
    assert D(lineage["quantity"]) == D(3)
    assert D(lineage["risk"]) == abs(signal.entry - signal.stop_loss) * 3


def test_reject_cancels_the_bracket_unsent_with_the_reason(goog: Symbol, llm_server: Any) -> None:
    strategy, run, approval = _held(goog, llm_server)
    client = _api(_owner(strategy))

    response = client.post(f"/api/v1/approvals/{approval.pk}/reject/", {"reason": "earnings"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    orders = Order.objects.filter(run=run)
    assert {o.status for o in orders} == {"cancelled"}
    assert {o.error_message for o in orders} == {"approval rejected: earnings"}
    assert not PaperOrder.objects.exists()
    again = client.post(f"/api/v1/approvals/{approval.pk}/approve/", {})
    assert again.status_code == 409
    assert not PaperOrder.objects.exists()


def test_expiry_cancels_with_the_reason(goog: Symbol, llm_server: Any) -> None:
    strategy, run, approval = _held(goog, llm_server)

    assert approvals_expire(now=approval.expires_at - timedelta(seconds=1)) == []
    assert approvals_expire(now=approval.expires_at) == [approval.pk]

    approval.refresh_from_db()
    assert (approval.status, approval.reason) == ("expired", "approval expired")
    orders = Order.objects.filter(run=run)
    assert {(o.status, o.error_message) for o in orders} == {("cancelled", "approval expired")}
    with pytest.raises(ApprovalError, match="expired"):
        approval_approve(approval_id=approval.pk, user=_owner(strategy))
    assert not PaperOrder.objects.exists()
    assert run.steps.get(name="approval").output["reason"] == "approval expired"


def test_approving_past_the_expiry_expires_it_instead(goog: Symbol, llm_server: Any) -> None:
    strategy, _run, approval = _held(goog, llm_server)

    with pytest.raises(ApprovalError, match="expired"):
        approval_approve(
            approval_id=approval.pk, user=_owner(strategy), now=approval.expires_at + timedelta(1)
        )

    approval.refresh_from_db()
    assert approval.status == "expired"
    assert not PaperOrder.objects.exists()


def test_halted_at_approval_time_is_refused_with_the_reason(goog: Symbol, llm_server: Any) -> None:
    strategy, run, approval = _held(goog, llm_server)
    trading_state_set(
        state="halted", reason="broker maintenance", source="command", account=strategy.account
    )

    response = _api(_owner(strategy)).post(f"/api/v1/approvals/{approval.pk}/approve/", {})

    assert response.status_code == 409
    assert "trading halted (account): broker maintenance" in response.json()["detail"]
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert {o.status for o in Order.objects.filter(run=run)} == {"awaiting_approval"}
    assert not PaperOrder.objects.exists()


def test_another_user_gets_404(goog: Symbol, llm_server: Any) -> None:
    _, _, approval = _held(goog, llm_server)
    stranger = _api(UserFactory.create())

    assert stranger.get("/api/v1/approvals/").json()["results"] == []
    assert stranger.get(f"/api/v1/approvals/{approval.pk}/").status_code == 404
    assert stranger.post(f"/api/v1/approvals/{approval.pk}/approve/", {}).status_code == 404
    reject = stranger.post(f"/api/v1/approvals/{approval.pk}/reject/", {"reason": "x"})
    assert reject.status_code == 404
    link = approval_links(approval)["approve_url"]
    assert stranger.post(link, {}).status_code == 404
    approval.refresh_from_db()
    assert approval.status == "pending" and not PaperOrder.objects.exists()


def test_list_and_detail_show_the_lineage_beside_it(goog: Symbol, llm_server: Any) -> None:
    strategy, _run, approval = _held(goog, llm_server)
    client = _api(_owner(strategy))

    listed = client.get("/api/v1/approvals/", {"status": "pending"}).json()["results"]
    assert [a["id"] for a in listed] == [approval.pk]
    assert client.get("/api/v1/approvals/", {"status": "approved"}).json()["results"] == []

    detail = client.get(f"/api/v1/approvals/{approval.pk}/").json()
    lineage = detail["lineage"]
    assert {a["kind"] for a in lineage["artifacts"]} >= {"chart_png", "prompt", "raw_answer"}
    assert lineage["action"] == "BUY"
    assert any(c["name"] == "account_conflict_policy" for c in lineage["checks"])
    assert D(lineage["risk"]) > 0 and D(lineage["reward"]) > 0
    chart = next(a for a in lineage["artifacts"] if a["kind"] == "chart_png")
    assert client.get(chart["url"]).status_code == 200


def test_a_backtest_run_never_waits(goog: Symbol, llm_server: Any) -> None:
    strategy = _strategy(goog)
    llm_server.answer_with(decision())

    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="backtest")

    assert run.status == "succeeded", run.error_message
    assert not OrderApproval.objects.exists()
    # Sent at once: the paper book filled the entry and one exit (the other cancelled).
    assert {o.status for o in Order.objects.filter(run=run)} <= {"submitted", "filled", "cancelled"}
    assert PaperOrder.objects.count() == 3


def test_approval_defaults_to_required_for_live_and_none_for_paper() -> None:
    assert Strategy(trading_mode="live").approval_required
    assert not Strategy(trading_mode="paper").approval_required
    assert not Strategy(trading_mode="live", approval="none").approval_required
    assert Strategy(trading_mode="paper", approval="required").approval_required


def test_a_paper_strategy_without_approval_sends_at_once(goog: Symbol, llm_server: Any) -> None:
    strategy = _strategy(goog, approval="auto")
    run = run_answering(strategy, llm_server, decision())
    assert not OrderApproval.objects.exists()
    assert "awaiting_approval" not in {o.status for o in Order.objects.filter(run=run)}
    assert PaperOrder.objects.count() == 3


def test_signed_links_show_on_get_and_act_on_post(goog: Symbol, llm_server: Any) -> None:
    strategy, _, approval = _held(goog, llm_server)
    links = approval_links(approval, base_url="https://sibyl.example")
    assert links["approve_url"].startswith("https://sibyl.example/api/v1/approval-links/")
    client = _api(_owner(strategy))
    approve = links["approve_url"].removeprefix("https://sibyl.example")
    reject = links["reject_url"].removeprefix("https://sibyl.example")

    shown = client.get(approve)
    assert shown.status_code == 200
    assert shown.json()["decision"] == "approve"
    assert shown.json()["approval"]["status"] == "pending"
    assert client.get(reject).json()["decision"] == "reject"
    assert not PaperOrder.objects.exists()  # GET never acts
    tampered = approve[:-3] + ("abc" if not approve.endswith("abc/") else "xyz") + "/"
    assert client.get(tampered).status_code == 400
    with pytest.raises(Exception, match="expired"):
        approval_link_read(
            approve.rstrip("/").rsplit("/", 1)[1],
            now=approval.expires_at + timedelta(seconds=1),
        )

    acted = client.post(approve, {})
    assert acted.status_code == 200, acted.content
    assert acted.json()["approval"]["status"] == "approved"
    assert PaperOrder.objects.count() == 3


class _CountingBroker:
    """The paper broker, counting bracket submissions and slowing them so two approvals
    overlap."""

    def __init__(self, inner: Broker) -> None:
        self.inner = inner
        self.name = inner.name
        self.submissions = 0
        self.lock = threading.Lock()

    def submit_bracket(self, spec: BracketSpec) -> list[BrokerOrderState]:
        with self.lock:
            self.submissions += 1
        return self.inner.submit_bracket(spec)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_send_the_bracket_once(goog: Symbol, llm_server: Any) -> None:
    strategy, run, approval = _held(goog, llm_server)
    broker = _CountingBroker(broker_named("paper"))
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def approve() -> None:
        try:
            barrier.wait()
            outcomes.append(
                approval_approve(
                    approval_id=approval.pk,
                    user=_owner(strategy),
                    broker=broker,  # type: ignore[arg-type]
                )
            )
        except Exception as error:  # pragma: no cover - reported by the assertion below
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(o.sent for o in outcomes) == [False, True], outcomes
    assert broker.submissions == 1
    assert PaperOrder.objects.count() == 3
    assert {o.status for o in Order.objects.filter(run=run)} == {"submitted"}


def test_the_admin_lists_approvals_and_approves_them(
    goog: Symbol, llm_server: Any, admin_client: Any
) -> None:
    _, run, approval = _held(goog, llm_server)
    listed = admin_client.get("/admin/orders/orderapproval/")
    assert listed.status_code == 200
    assert f"/admin/orders/orderapproval/{approval.pk}/change/" in listed.content.decode()

    response = admin_client.post(
        "/admin/orders/orderapproval/",
        {"action": "approve_selected", "_selected_action": [approval.pk]},
        follow=True,
    )

    assert response.status_code == 200
    approval.refresh_from_db()
    assert approval.status == "approved" and approval.decided_by is not None
    assert approval.decided_by.is_superuser
    assert PaperOrder.objects.count() == 3
    assert {o.status for o in Order.objects.filter(run=run)} == {"submitted"}


def test_a_live_approval_needs_the_live_trading_permission(goog: Symbol, llm_server: Any) -> None:
    strategy, _, approval = _held(goog, llm_server)
    member = UserFactory.create()
    strategy.account.members.add(member)
    # The strategy went live after its bracket was held (the order step itself sends a live
    # strategy's orders to IBKR, which this test does not run).
    Strategy.objects.filter(pk=strategy.pk).update(trading_mode="live")

    response = _api(member).post(f"/api/v1/approvals/{approval.pk}/approve/", {})

    assert response.status_code == 403
    assert "strategies.trade_live" in response.json()["detail"]
    assert _api(member).get(f"/api/v1/approvals/{approval.pk}/").status_code == 200
    approval.refresh_from_db()
    assert approval.status == "pending" and not PaperOrder.objects.exists()


def test_the_expiry_task_is_on_the_beat_schedule(goog: Symbol, llm_server: Any) -> None:
    from apps.orders.tasks import expire_approvals
    from celery_app.app import app as celery_app

    entry = celery_app.conf.beat_schedule["expire-approvals"]
    assert entry == {"task": "apps.orders.tasks.expire_approvals", "schedule": 30.0}
    assert expire_approvals.name == entry["task"]
    _, _, approval = _held(goog, llm_server)
    assert expire_approvals() == {"expired": []}  # not yet due
    OrderApproval.objects.filter(pk=approval.pk).update(expires_at=timezone.now())
    assert expire_approvals() == {"expired": [approval.pk]}


def test_a_close_all_rejects_the_brackets_held_for_approval(goog: Symbol, llm_server: Any) -> None:
    # given a bracket held for approval on the strategy's account
    strategy, run, approval = _held(goog, llm_server)
    owner = _owner(strategy)

    # when the owner closes everything on the account
    report = positions_close_all(
        account=strategy.account, kind="person", market_time=AS_OF, requested_by=owner
    )

    # then the held bracket is rejected unsent with the close-all's reason
    approval.refresh_from_db()
    assert (approval.status, approval.reason) == ("rejected", "person: close-all")
    assert approval.decided_by == owner
    orders = Order.objects.filter(run=run)
    assert {(o.status, o.error_message) for o in orders} == {("cancelled", "person: close-all")}
    assert orders.get(role="entry").client_order_ref in report.cancelled
    # and approving it afterwards cannot open a position the close-all meant to end
    with pytest.raises(ApprovalError):
        approval_approve(approval_id=approval.pk, user=owner)
    assert not PaperOrder.objects.exists()
    assert run.steps.filter(name="approval").exists()
