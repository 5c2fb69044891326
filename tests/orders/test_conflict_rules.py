"""The conflict policy's rules alone (``conflict_decide``, ``conflict_policy_resolve``): facts
in, decision out, no database."""

from decimal import Decimal

from apps.orders.conflicts import (
    ConflictDecision,
    ConflictPolicy,
    HeldPosition,
    WorkingEntry,
    conflict_decide,
    conflict_policy_resolve,
)
from apps.trading.models import Account, AccountSymbol

D = Decimal
ME = 1


def policy(**fields: object) -> ConflictPolicy:
    values: dict[str, object] = {
        "position_mode": "netting",
        "opposite_policy": "reject",
        "same_direction_policy": "accumulate",
        "max_position_per_symbol": None,
    }
    values.update(fields)
    return ConflictPolicy(**values)  # type: ignore[arg-type]


def entry(
    order_id: int,
    strategy_id: int,
    *,
    side: str = "LONG",
    quantity: str = "10",
    filled: str = "0",
    status: str = "submitted",
    confidence: str = "0.8",
) -> WorkingEntry:
    return WorkingEntry(
        order_id,
        strategy_id,
        f"S{strategy_id}",
        side,
        D(quantity),
        D(filled),
        status,
        D(confidence),
    )


def held(strategy_id: int, quantity: str = "10", side: str = "LONG") -> HeldPosition:
    return HeldPosition(strategy_id, f"S{strategy_id}", side, D(quantity))


def decide(
    rules: ConflictPolicy,
    *,
    side: str = "LONG",
    quantity: str = "10",
    confidence: str = "0.8",
    positions: list[HeldPosition] | None = None,
    entries: list[WorkingEntry] | None = None,
) -> ConflictDecision:
    return conflict_decide(
        policy=rules,
        strategy_id=ME,
        side=side,
        quantity=D(quantity),
        confidence=D(confidence),
        positions=positions or [],
        entries=entries or [],
    )


def test_own_position_and_entries_are_no_conflict() -> None:
    rules = policy(same_direction_policy="reject_duplicates")
    decision = decide(rules, positions=[held(ME, side="SHORT")], entries=[entry(5, ME)])
    assert decision.allowed and decision.quantity == D(10)


def test_own_rows_count_toward_the_account_max() -> None:
    decision = decide(
        policy(max_position_per_symbol=D(30)),
        positions=[held(ME, "12")],
        entries=[entry(5, ME, quantity="10", filled="4", status="partially_filled")],
    )
    # 12 held + 6 unfilled = 18 of 30: room for 12
    assert decision.allowed and decision.quantity == D(10)
    capped = decide(policy(max_position_per_symbol=D(20)), positions=[held(ME, "12")])
    assert capped.allowed and capped.quantity == D(8)


def test_the_opposite_side_does_not_count_toward_the_max() -> None:
    rules = policy(max_position_per_symbol=D(10), opposite_policy="allow")
    decision = decide(rules, positions=[held(2, "100", side="SHORT")])
    assert decision.allowed and decision.quantity == D(10)


def test_strongest_wins_equal_confidence_keeps_the_first() -> None:
    decision = decide(
        policy(same_direction_policy="strongest_wins"),
        confidence="0.8",
        entries=[entry(5, 2, confidence="0.8")],
    )
    assert not decision.allowed and "S2's unfilled entry (order 5)" in decision.detail


def test_strongest_wins_displaces_every_weaker_unfilled_entry() -> None:
    weaker = [entry(5, 2, confidence="0.6", status="pending"), entry(6, 3, confidence="0.7")]
    decision = decide(
        policy(same_direction_policy="strongest_wins"), confidence="0.75", entries=weaker
    )
    assert decision.allowed and [e.order_id for e in decision.displaced] == [5, 6]


def test_strongest_wins_a_partly_filled_entry_is_held() -> None:
    decision = decide(
        policy(same_direction_policy="strongest_wins"),
        confidence="0.99",
        entries=[entry(5, 2, filled="1", status="partially_filled", confidence="0.1")],
    )
    assert not decision.allowed and "never taken away" in decision.detail
    assert not decision.displaced


def test_a_long_list_of_holders_is_shortened() -> None:
    decision = decide(
        policy(same_direction_policy="reject_duplicates"),
        positions=[held(n) for n in range(2, 12)],
    )
    assert not decision.allowed
    assert "S2 holds LONG 10; S3 holds LONG 10; S4 holds LONG 10; and 7 more" in decision.detail


def test_resolve_takes_the_set_override_fields_only() -> None:
    account = Account(
        position_mode="hedge",
        opposite_policy="reject",
        same_direction_policy="accumulate",
        max_position_per_symbol=D(100),
    )
    override = AccountSymbol(opposite_policy="allow", same_direction_policy="")
    assert conflict_policy_resolve(account=account, override=override) == ConflictPolicy(
        "hedge", "allow", "accumulate", D(100)
    )
    override = AccountSymbol(same_direction_policy="strongest_wins", max_position_per_symbol=D(0))
    assert conflict_policy_resolve(account=account, override=override) == ConflictPolicy(
        "hedge", "reject", "strongest_wins", D(0)
    )
    assert conflict_policy_resolve(account=account, override=None).max_position_per_symbol == D(100)
