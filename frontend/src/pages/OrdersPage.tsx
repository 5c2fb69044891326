import { useState } from "react";
import { ORDER_STATUSES, useCancelOrder, useOrders } from "../api/orders";
import { useStrategies } from "../api/strategies";
import type { OrderStatus } from "../api/types";
import { OrdersTable } from "../components/orders/OrdersTable/OrdersTable";
import { CursorPager } from "../components/ui/CursorPager/CursorPager";
import { ErrorState, QueryState } from "../components/ui/QueryState/QueryState";
import { humanize } from "../lib/format";

export function OrdersPage() {
  const [status, setStatus] = useState<OrderStatus | "">("");
  const [strategy, setStrategy] = useState<number | "">("");
  const [cursor, setCursor] = useState<string | undefined>();
  const strategies = useStrategies({ page_size: 200 });
  const orders = useOrders({
    page_size: 50,
    ...(status ? { status: [status] } : {}),
    ...(strategy ? { strategy } : {}),
    ...(cursor ? { cursor } : {}),
  });
  const cancel = useCancelOrder();
  return (
    <div className="page">
      <h1>Orders</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as OrderStatus | "");
              setCursor(undefined);
            }}
          >
            <option value="">all</option>
            {ORDER_STATUSES.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Strategy
          <select
            value={strategy}
            onChange={(e) => {
              setStrategy(e.target.value ? Number(e.target.value) : "");
              setCursor(undefined);
            }}
          >
            <option value="">all</option>
            {strategies.data?.results.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
      </form>
      {cancel.isError && <ErrorState error={cancel.error} title="Could not cancel the order" />}
      <QueryState
        query={orders}
        isEmpty={(d) => d.results.length === 0}
        empty="No orders match."
        errorTitle="Could not load orders"
      >
        {(d) => (
          <>
            <OrdersTable
              orders={d.results}
              onCancel={(id) => cancel.mutate(id)}
              cancellingId={cancel.isPending ? cancel.variables : null}
            />
            <CursorPager next={d.next} previous={d.previous} onCursor={setCursor} />
          </>
        )}
      </QueryState>
    </div>
  );
}
