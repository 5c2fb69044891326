import type {
  Backtest,
  BacktestReport,
  BacktestReportRow,
  BacktestSeries,
  BacktestTrade,
  BacktestVariant,
} from "../api/backtests";

export function makeBacktestVariant(overrides: Partial<BacktestVariant> = {}): BacktestVariant {
  return {
    id: 11,
    position: 1,
    label: "base",
    llm_model: "",
    prompt_template: null,
    prompt_version: null,
    analyst: "",
    recorded_answers: false,
    reference: false,
    account_id: 40,
    clone_id: 50,
    status: "running",
    error: "",
    slots_done: 3,
    slots_total: 10,
    ...overrides,
  } as BacktestVariant;
}

export function makeBacktest(overrides: Partial<Backtest> = {}): Backtest {
  return {
    id: 7,
    kind: "backtest",
    strategy: 3,
    strategy_slug: "goog-swing",
    strategy_name: "GOOG swing",
    symbol: "GOOG",
    created_by: "trader",
    source_variant: null,
    source_backtest: null,
    source_variant_label: null,
    start: "2012-03-01T00:00:00+00:00",
    end: "2012-06-30T23:59:59.999999+00:00",
    llm_cache: "off",
    anonymise: false,
    status: "running",
    error: "",
    created_at: "2026-12-07T10:00:00Z",
    finished_at: null,
    can_cancel: true,
    can_resume: false,
    variants: [makeBacktestVariant()],
    ...overrides,
  } as Backtest;
}

export function makeReportRow(overrides: Partial<BacktestReportRow> = {}): BacktestReportRow {
  return {
    variant: 1,
    label: "base",
    status: "done",
    starting_cash: "100000",
    capital: "10000.00",
    knowledge_cutoff: "2011-10-01",
    leakage_warning: null,
    leakage_span: null,
    trades: 4,
    wins: 3,
    losses: 1,
    win_rate: "0.75",
    average_r: "1.25",
    realized_pnl: "1250.5000",
    commission: "8.0000",
    open_positions: 1,
    final_equity: "101250.5000",
    max_drawdown: "300.0000",
    max_drawdown_fraction: "0.0030",
    sharpe: 1.2345,
    sortino: 2.5,
    exposure: 0.4,
    llm_calls: 80,
    prompt_tokens: 120000,
    completion_tokens: 8000,
    llm_cost_usd: "0.0412",
    ...overrides,
  } as BacktestReportRow;
}

export function makeReport(overrides: Partial<BacktestReport> = {}): BacktestReport {
  return {
    backtest: 7,
    strategy: "goog-swing",
    symbol: "GOOG",
    currency: "USD",
    start: "2012-03-01T00:00:00+00:00",
    end: "2012-06-30T23:59:59+00:00",
    status: "done",
    slots: 87,
    trading_days: 86,
    anonymise: false,
    variants: [makeReportRow()],
    baseline_analyst: null,
    buy_and_hold: makeReportRow({
      variant: null,
      label: "buy and hold",
      knowledge_cutoff: undefined,
      entry_price: "600.00",
      quantity: "16",
      unrealized_pnl: "-5000.0000",
      trades: 0,
      realized_pnl: "0",
      final_equity: "95000.0000",
      max_drawdown: "9000.0000",
      max_drawdown_fraction: "0.0900",
      sharpe: -0.5,
      sortino: null,
      exposure: 1,
    }),
    ...overrides,
  } as BacktestReport;
}

export function makeSeries(): BacktestSeries {
  return {
    backtest: 7,
    currency: "USD",
    series: [
      {
        variant: 1,
        label: "base",
        points: [
          { day: "2012-03-01", equity: "100000.0000", drawdown: "0.0000", drawdown_fraction: "0.0000" },
          { day: "2012-03-02", equity: "99500.0000", drawdown: "500.0000", drawdown_fraction: "0.0050" },
        ],
      },
      {
        variant: null,
        label: "buy and hold",
        points: [
          { day: "2012-03-01", equity: "100000.0000", drawdown: "0.0000", drawdown_fraction: "0.0000" },
          { day: "2012-03-02", equity: "101000.0000", drawdown: "0.0000", drawdown_fraction: "0.0000" },
        ],
      },
    ],
  } as BacktestSeries;
}

export function makeTrade(overrides: Partial<BacktestTrade> = {}): BacktestTrade {
  return {
    position_id: 21,
    side: "LONG",
    status: "closed",
    opened_at: "2012-03-05T22:00:00Z",
    closed_at: "2012-03-08T20:00:00Z",
    entry_price: "600.50000000",
    exit_price: "612.00000000",
    quantity: "10.0000",
    exit_quantity: "10.0000",
    realized_pnl: "113.0000",
    commission: "2.0000",
    r_multiple: "1.1300",
    outcome: "win",
    opening_run_id: 101,
    closing_run_id: 104,
    exit_reason: "take_profit",
    ...overrides,
  } as BacktestTrade;
}
