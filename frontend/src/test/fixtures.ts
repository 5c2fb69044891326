import type { OrderListItem, RunDetail, RunListItem, Step } from "../api/types";

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

/** A run row as the runs list answers it (the detail adds steps, calls, signal, orders). */
const RUN_ROW: RunListItem = {
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
};

export function makeRun(overrides: Partial<RunDetail> = {}): RunDetail {
  return {
    ...RUN_ROW,
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
    reason: "signal",
    action: null,
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
    strategy_name: "SPY daily",
    fills_count: 0,
    ...overrides,
  } as OrderListItem;
}

// ---- Prompt templates (Prompts pages) ----

export function makePromptTemplate(
  overrides: Partial<import("../api/prompts").PromptTemplate> = {},
): import("../api/prompts").PromptTemplate {
  return {
    id: 1,
    name: "swing",
    version: 1,
    body: "{{ symbol.symbol }} {{ bar_size }}\nDecide BUY, SELL or HOLD.\n",
    created_at: "2025-01-02T10:00:00Z",
    owner: 1,
    owner_username: "trader",
    author: 1,
    author_username: "trader",
    is_published: false,
    can_write: true,
    ...overrides,
  };
}

export function makeLlmEndpoint(
  overrides: Partial<import("../api/llmEndpoints").LlmEndpoint> = {},
): import("../api/llmEndpoints").LlmEndpoint {
  return {
    id: 3,
    name: "openrouter",
    owner: null,
    base_url: "https://openrouter.ai/api/v1",
    has_api_key: true,
    offered_models: [],
    text_only_models: [],
    prices: {},
    knowledge_cutoff: null,
    knowledge_cutoffs: {},
    timeout_s: null,
    is_active: true,
    created_at: "2025-01-01T09:00:00Z",
    updated_at: "2025-01-01T09:00:00Z",
    ...overrides,
  };
}

export function makePromptScore(
  overrides: Partial<import("../api/prompts").PromptScore> = {},
): import("../api/prompts").PromptScore {
  return {
    template_id: 1,
    template_name: "swing",
    template_version: 1,
    owner: 1,
    computed_at: "2025-01-03T06:00:00Z",
    signals: 12,
    accepted_share: 0.75,
    filled_share: 0.5,
    closed_trades: 4,
    win_rate: 0.5,
    avg_r_multiple: 1.2,
    ...overrides,
  };
}

export function makeRunListItem(
  overrides: Partial<import("../api/types").RunListItem> = {},
): import("../api/types").RunListItem {
  return { ...RUN_ROW, ...overrides };
}

// ---- Session, strategies, symbols, signals (login, strategy form, names) ----

export function makeUser(
  overrides: Partial<import("../api/types").CurrentUser> = {},
): import("../api/types").CurrentUser {
  return { id: 1, username: "ada", is_staff: false, ...overrides };
}

export function makeSymbol(
  overrides: Partial<import("../api/types").Symbol> = {},
): import("../api/types").Symbol {
  return {
    id: 1,
    conid: null,
    symbol: "SPY",
    sec_type: "STK",
    exchange: "SMART",
    primary_exchange: "ARCA",
    currency: "USD",
    description: "SPDR S&P 500 ETF",
    timezone: "America/New_York",
    trading_calendar: "XNYS",
    min_tick: "0.01",
    fetched_at: null,
    ...overrides,
  };
}

export function makeStrategy(
  overrides: Partial<import("../api/types").Strategy> = {},
): import("../api/types").Strategy {
  return {
    id: 7,
    owner: 1,
    next_run_at: "2025-01-03T22:00:00Z",
    auto_deactivated_at: null,
    auto_deactivation_reason: "",
    created_at: "2025-01-01T10:00:00Z",
    updated_at: "2025-01-01T10:00:00Z",
    symbol_code: "SPY",
    account: 1,
    account_name: "ada paper",
    name: "SPY daily",
    slug: "spy-daily",
    symbol: 1,
    bar_size: "1 day",
    lookback: 200,
    indicators: [{ name: "RSI", params: { timeperiod: 14 } }],
    prompt_template: 11,
    analyst: "baseline",
    llm_model: "",
    llm_temperature: 0,
    llm_max_tokens: 800,
    llm_endpoint: null,
    llm_endpoint_name: null,
    llm_timeout_s: null,
    llm_accepts_images: true,
    llm_response_format: "auto",
    llm_fallback_model: "",
    llm_budget_daily_usd: null,
    llm_budget_monthly_usd: null,
    schedule_cron: "0 22 * * 1-5",
    schedule_timezone: "UTC",
    is_active: true,
    catch_up: "latest",
    skip_closed_market: false,
    capital: "100000.00",
    risk_per_trade_pct: "1.000",
    max_position_quantity: "1000.0000",
    max_order_notional: "50000.00",
    min_confidence: "0.600",
    min_reward_risk: "1.500",
    max_entry_deviation_pct: "2.000",
    order_type: "LMT",
    time_in_force: "DAY",
    opposite_signal: "close",
    close_order_type: "MKT",
    scale_in: false,
    max_scale_ins: 1,
    scale_in_exits: "newest",
    trail_stop: false,
    close_before_session_end_min: null,
    daily_loss_limit: null,
    max_drawdown_pct: null,
    max_failed_runs: null,
    trading_mode: "paper",
    ...overrides,
  };
}

export function makeSignal(
  overrides: Partial<import("../api/types").Signal> = {},
): import("../api/types").Signal {
  return {
    id: 3,
    run_id: 42,
    strategy_id: 7,
    strategy_name: "SPY daily",
    symbol: "SPY",
    prompt_template_id: 11,
    action: "BUY",
    position_side: "LONG",
    confidence: "0.72",
    entry: "100.5",
    stop_loss: "98",
    take_profit: "105",
    reward_risk: "1.8",
    reasoning: "Trend up.",
    status: "accepted",
    checks: [],
    rejection_reasons: [],
    created_at: "2025-01-02T10:00:05Z",
    ...overrides,
  };
}

// ---- Fills and positions (dashboard P&L) ----

export function makeFill(
  overrides: Partial<import("../api/types").FillListItem> = {},
): import("../api/types").FillListItem {
  return {
    id: 1,
    order_id: 10,
    execution_id: "paper-10-1",
    executed_at: "2025-01-02T15:00:00Z",
    quantity: "10",
    price: "100.00",
    commission: "1.00",
    realized_pnl: "0",
    run_id: 42,
    strategy_id: 7,
    symbol: "SPY",
    currency: "USD",
    ...overrides,
  };
}

export function makePosition(
  overrides: Partial<import("../api/types").Position> = {},
): import("../api/types").Position {
  return {
    id: 1,
    account_id: 1,
    account: "Paper (alice)",
    strategy_id: 7,
    strategy: "spy-daily",
    side: "LONG",
    symbol: "SPY",
    symbol_id: 1,
    currency: "USD",
    quantity: "10",
    average_cost: "100.00",
    realized_pnl: "0",
    last_price: "101.00",
    last_price_at: "2025-01-02T15:00:00Z",
    unrealized_pnl: "10.00",
    working_orders: [],
    updated_at: "2025-01-02T15:00:00Z",
    ...overrides,
  };
}

// ---- Performance (strategy / account P&L per currency, prompt performance) ----

export function makeCurrencyPerformance(
  overrides: Partial<import("../api/performance").CurrencyPerformance> = {},
): import("../api/performance").CurrencyPerformance {
  return {
    currency: "USD",
    trades: 4,
    wins: 3,
    losses: 1,
    breakevens: 0,
    win_rate: "0.7500",
    average_r: "1.2500",
    r_trades: 4,
    realized_pnl: "1250.5000",
    unrealized_pnl: "-40.0000",
    commission: "8.0000",
    open_positions: 1,
    unpriced_positions: 0,
    starting_equity: "10000.0000",
    max_drawdown: "300.0000",
    max_drawdown_fraction: "0.0275",
    equity: [
      { date: "2025-01-02", equity: "10000.0000", drawdown: "0.0000" },
      { date: "2025-01-03", equity: "10900.0000", drawdown: "0.0000" },
      { date: "2025-01-06", equity: "10600.0000", drawdown: "300.0000" },
      { date: "2025-01-07", equity: "11210.5000", drawdown: "0.0000" },
    ],
    ...overrides,
  };
}

export function makePromptPerformance(
  overrides: Partial<import("../api/performance").PromptPerformance> = {},
): import("../api/performance").PromptPerformance {
  const { equity: _equity, ...figures } = makeCurrencyPerformance();
  return {
    ...figures,
    starting_equity: "0.0000",
    template: 3,
    template_name: "swing",
    template_version: 2,
    llm_model: "gpt-4o",
    ...overrides,
  };
}

// ---- Position actions (closing positions) ----

export function makePositionAction(
  overrides: Partial<import("../api/types").PositionActionDetail> = {},
): import("../api/types").PositionActionDetail {
  return {
    id: 9,
    kind: "person",
    status: "done",
    account_id: 1,
    account: "Paper (alice)",
    strategy_id: 7,
    strategy: "spy-daily",
    symbol_id: 1,
    symbol: "SPY",
    strategy_position_id: 5,
    run_id: null,
    requested_by: "alice",
    note: "",
    market_time: "2025-01-02T15:00:00Z",
    detail: { cancelled: ["sibyl-42-stop_loss", "sibyl-42-take_profit"], orders: [21] },
    error_message: "",
    created_at: "2025-01-02T15:00:00Z",
    finished_at: "2025-01-02T15:00:01Z",
    orders: [
      {
        ...makeOrder({
          id: 21,
          run_id: null,
          signal_id: null,
          role: "exit",
          side: "SELL",
          order_type: "MKT",
          limit_price: null,
          quantity: "10",
          reason: "person",
          action: {
            id: 9,
            kind: "person",
            status: "done",
            requested_by: "alice",
            note: "",
            run_id: null,
            created_at: "2025-01-02T15:00:00Z",
          },
        }),
        fills: [],
      },
    ],
    ...overrides,
  };
}

export function makeTradingStateChange(
  overrides: Partial<import("../api/tradingState").TradingStateChange> = {},
): import("../api/tradingState").TradingStateChange {
  return {
    id: 1,
    account: 2,
    state: "halted",
    previous: "active",
    reason: "broker outage",
    source: "api",
    changed_by: "ada",
    created_at: "2026-12-07T09:00:00Z",
    ...overrides,
  };
}

export function makeAccountTradingState(
  overrides: Partial<import("../api/tradingState").AccountTradingState> = {},
): import("../api/tradingState").AccountTradingState {
  return {
    account: 2,
    state: "active",
    effective_state: "active",
    effective_scope: "account",
    effective_reason: "",
    changes: [],
    ...overrides,
  };
}
