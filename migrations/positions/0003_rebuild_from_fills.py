"""Strategy positions rebuilt from every stored fill, by the same replay
``manage.py rebuild_positions`` uses (``apps.positions.replay``): each fill's realized P&L and
unattributed quantity, each order's strategy position, each order's realized P&L."""

from django.db import migrations

from apps.positions.replay import FillFact, replay


def forwards(apps, schema_editor):
    Fill = apps.get_model("orders", "Fill")
    Order = apps.get_model("orders", "Order")
    StrategyPosition = apps.get_model("positions", "StrategyPosition")
    rows = Fill.objects.select_related(
        "order", "order__run", "order__signal", "order__run__strategy"
    ).order_by("executed_at", "id")
    facts = [
        FillFact(
            fill_id=f.pk,
            order_id=f.order_id,
            parent_id=f.order.parent_id,
            is_entry=f.order.role == "entry",
            order_side=f.order.side,
            account_id=f.order.account_id,
            strategy_id=f.order.run.strategy_id,
            symbol_id=f.order.symbol_id,
            quantity=f.quantity,
            price=f.price,
            commission=f.commission,
            executed_at=f.executed_at,
            stop=f.order.signal.stop_loss,
            run_id=f.order.run_id,
            prompt_template_id=f.order.signal.prompt_template_id,
            llm_model=f.order.run.strategy.llm_model or f.order.run.strategy.analyst,
        )
        for f in rows
    ]
    result = replay(facts)
    ids = {}
    for p in result.positions:
        book = p.book
        row = StrategyPosition.objects.create(
            account_id=p.account_id,
            strategy_id=p.strategy_id,
            symbol_id=p.symbol_id,
            side=book.side,
            status="open" if p.is_open else "closed",
            quantity=book.quantity,
            average_cost=book.average_cost,
            realized_pnl=book.realized,
            commission=book.commission,
            entry_quantity=book.entry_quantity,
            entry_price=book.entry_price,
            exit_quantity=book.exit_quantity,
            exit_price=book.exit_price,
            initial_risk=book.initial_risk,
            r_multiple=None if p.is_open else book.r_multiple,
            outcome=p.outcome,
            opened_at=p.opened_at,
            closed_at=p.closed_at,
            opening_run_id=p.run_id,
            prompt_template_id=p.prompt_template_id,
            llm_model=p.llm_model,
        )
        ids[p.number] = row.pk
    for fill in Fill.objects.all():
        fill.realized_pnl = result.fill_realized.get(fill.pk, fill.realized_pnl)
        fill.unattributed_quantity = result.fill_excess.get(fill.pk, 0)
        fill.save(update_fields=["realized_pnl", "unattributed_quantity"])
    orders = {o.pk: o for o in Order.objects.all()}
    for order in orders.values():
        number = result.order_position.get(order.pk)
        if number is None and order.parent_id is not None:
            number = result.order_position.get(order.parent_id)
        order.strategy_position_id = ids.get(number) if number is not None else None
        order.realized_pnl = sum(
            (result.fill_realized.get(f) or 0 for f in order.fills.values_list("pk", flat=True)),
            0,
        )
        order.save(update_fields=["strategy_position", "realized_pnl"])


class Migration(migrations.Migration):
    dependencies = [
        ("positions", "0002_initial"),
        ("orders", "0006_order_accounts"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
