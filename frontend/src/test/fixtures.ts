import type { OrderListItem, RunDetail, Step } from "../api/types";

export function makeStep(overrides: Partial<Step> = {}): Step {
  return {
    id: 1,
    name: "data",
    sequence: 1,
    status: "succeeded",
    started_at: "2025-01-02T10:00:00Z",
    finished_at: "2025-01-02T10:00:01Z",
    duration_ms: 1250,
    input: { lookback: 200 },
    output: { bars: 200 },
    error_type: "",
    error_message: "",
    artifacts: [],
    ...overrides,
  };
}

export function makeRun(overrides: Partial<RunDetail> = {}): RunDetail {
  return {
    id: 42,
    strategy: { id: 7, slug: "spy-daily", name: "SPY daily" },
    trigger: "manual",
    status: "succeeded",
    as_of: "2025-01-02T10:00:00Z",
    scheduled_for: null,
    created_at: "2025-01-02T10:00:00Z",
    started_at: "2025-01-02T10:00:00Z",
    finished_at: "2025-01-02T10:00:09Z",
    current_step: "order",
    error_message: "",
    duration_ms: 9000,
    signal_action: "HOLD",
    heartbeat_at: null,
    steps: [
      makeStep(),
      makeStep({ id: 2, name: "indicators", sequence: 2, duration_ms: 40 }),
    ],
    llm_calls: [],
    signal: null,
    orders: [],
    ...overrides,
  };
}

export function makeOrder(overrides: Partial<OrderListItem> = {}): OrderListItem {
  return {
    id: 1,
    run_id: 42,
    signal_id: 3,
    parent_id: null,
    client_order_ref: "sibyl-42-entry",
    broker: "paper",
    broker_order_id: "P1",
    role: "entry",
    side: "BUY",
    order_type: "LMT",
    quantity: "10",
    limit_price: "100.5",
    stop_price: null,
    time_in_force: "DAY",
    oca_group: "",
    status: "submitted",
    filled_quantity: "0",
    avg_fill_price: null,
    commission: "0",
    realized_pnl: "0",
    error_message: "",
    attempts: 1,
    created_at: "2025-01-02T10:00:00Z",
    updated_at: "2025-01-02T10:00:00Z",
    submitted_at: "2025-01-02T10:00:01Z",
    filled_at: null,
    cancelled_at: null,
    flagged_at: null,
    symbol: "SPY",
    symbol_id: 1,
    strategy_id: 7,
    fills_count: 0,
    ...overrides,
  } as OrderListItem;
}
