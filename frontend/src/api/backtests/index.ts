import {
  keepPreviousData,
  queryOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { api, ApiError, unwrap } from "../client";
import type { components, paths } from "../schema";

type S = components["schemas"];

export type Backtest = S["BacktestOutput"];
export type BacktestVariant = S["VariantOutput"];
export type BacktestStatus = S["StatusEnum"];
export type BacktestInput = S["BacktestInputRequest"];
export type BacktestVariantInput = S["VariantInputRequest"];
export type BacktestEstimate = S["EstimateOutput"];
export type BacktestProgress = S["ProgressOutput"];
export type BacktestReport = S["ReportOutput"];
export type BacktestReportRow = S["ReportRow"];
export type BacktestTrades = S["TradesOutput"];
export type BacktestTrade = S["Trade"];
export type BacktestSeries = S["SeriesOutput"];
export type BacktestCurve = S["Series"];
export type LlmCacheMode = S["LlmCacheEnum"];
export type BacktestKind = S["BacktestKindEnum"];
export type ReplayInput = S["ReplayInputRequest"];
export type ReplayVariantInput = S["ReplayVariantInputRequest"];
export type ReplayEstimate = S["ReplayEstimateOutput"];

/**
 * What a backtest runs, in words: a backtest of its strategy, or a replay "of backtest N" (a
 * backtest variant's runs) or "of <strategy>'s runs" (the strategy's own live runs).
 */
export function backtestOrigin(b: Backtest): string {
  if (b.kind !== "replay") return `Backtest of ${b.strategy_name}`;
  if (b.source_backtest !== null)
    return `Replay of backtest ${b.source_backtest}${b.source_variant_label ? ` (variant ${b.source_variant_label})` : ""}`;
  return `Replay of ${b.strategy_name}'s runs`;
}

/** The report's variant rows that carry a leakage warning (the model may have seen the window). */
export const leakyRows = (report: BacktestReport): BacktestReportRow[] =>
  report.variants.filter((row) => Boolean(row.leakage_warning));

export type BacktestsFilter = NonNullable<
  paths["/api/v1/backtests/"]["get"]["parameters"]["query"]
>;

export const LLM_CACHE_MODES: readonly LlmCacheMode[] = ["off", "use", "only", "refresh"];

/** While a backtest is pending or running its pages poll this often (ms). */
export const POLL_MS = 2000;

export const isActive = (status: BacktestStatus | undefined) =>
  status === "pending" || status === "running";

export const backtestKeys = {
  all: ["backtests"] as const,
  lists: () => [...backtestKeys.all, "list"] as const,
  list: (filter: BacktestsFilter) => [...backtestKeys.lists(), filter] as const,
  details: () => [...backtestKeys.all, "detail"] as const,
  detail: (id: number) => [...backtestKeys.details(), id] as const,
  progress: (id: number) => [...backtestKeys.detail(id), "progress"] as const,
  report: (id: number) => [...backtestKeys.detail(id), "report"] as const,
  series: (id: number) => [...backtestKeys.detail(id), "series"] as const,
  trades: (id: number, position: number) =>
    [...backtestKeys.detail(id), "trades", position] as const,
};

/** The report as a JSON download and the summary rows as CSV (links, not fetches). */
export const reportJsonUrl = (id: number) => `/api/v1/backtests/${id}/report/?format=json`;
export const reportCsvUrl = (id: number) => `/api/v1/backtests/${id}/report-csv/`;

export const buildListBacktestsQuery = (filter: BacktestsFilter = {}) =>
  queryOptions({
    queryKey: backtestKeys.list(filter),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/backtests/", { params: { query: filter } })),
    placeholderData: keepPreviousData,
  });

/** The list polls while any listed backtest is pending or running. */
export const useBacktests = (filter: BacktestsFilter = {}) =>
  useQuery({
    ...buildListBacktestsQuery(filter),
    refetchInterval: (query) =>
      query.state.data?.results.some((b) => isActive(b.status)) ? POLL_MS : false,
  });

/** One backtest with its variants' progress; polls while it is pending or running. */
export const useBacktest = (id: number) =>
  useQuery({
    queryKey: backtestKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/backtests/{id}/", { params: { path: { id } } })),
    refetchInterval: (query) => (isActive(query.state.data?.status) ? POLL_MS : false),
  });

/**
 * The report, daily series and a variant's trades: figures so far while the backtest runs,
 * refetched at `refetchMs` (false: once).
 */
export const useBacktestReport = (id: number, refetchMs: number | false = false) =>
  useQuery({
    queryKey: backtestKeys.report(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/backtests/{id}/report/", { params: { path: { id } } })),
    refetchInterval: refetchMs,
  });

export const useBacktestSeries = (id: number, refetchMs: number | false = false) =>
  useQuery({
    queryKey: backtestKeys.series(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/backtests/{id}/series/", { params: { path: { id } } })),
    refetchInterval: refetchMs,
  });

export const useBacktestTrades = (
  id: number,
  position: number,
  refetchMs: number | false = false,
) =>
  useQuery({
    queryKey: backtestKeys.trades(id, position),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/backtests/{id}/variants/{position}/trades/", {
          params: { path: { id, position } },
        }),
      ),
    refetchInterval: refetchMs,
  });

/** The body of a 400 that refused a backtest because its estimate is above `max_cost`. */
export interface CostRefusal {
  detail: string;
  code: "BacktestCostAboveLimit";
  estimate_usd: string;
  max_cost_usd: string;
}

/** The cost refusal inside an API error, or null for any other error. */
export function costRefusal(error: unknown): CostRefusal | null {
  if (!(error instanceof ApiError) || error.status !== 400) return null;
  const body = error.body as Partial<CostRefusal> | null;
  return body && body.code === "BacktestCostAboveLimit" ? (body as CostRefusal) : null;
}

/** `POST /backtests/estimate/`: the LLM cost estimate (USD) and slots; nothing is created. */
export const useEstimateBacktest = () =>
  useMutation({
    mutationFn: async (body: BacktestInput) =>
      unwrap(await api.POST("/api/v1/backtests/estimate/", { body })),
  });

/** `POST /backtests/`: create and start; refreshes the lists. */
export const useCreateBacktest = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: BacktestInput) =>
      unwrap(await api.POST("/api/v1/backtests/", { body })),
    onSuccess: (backtest) => {
      queryClient.setQueryData(backtestKeys.detail(backtest.id), backtest);
      void queryClient.invalidateQueries({ queryKey: backtestKeys.lists() });
    },
  });
};

/**
 * `POST /backtests/replays/estimate/`: a replay's LLM cost estimate (USD; the original costs 0),
 * its source runs, variants and window; nothing is created.
 */
export const useEstimateReplay = () =>
  useMutation({
    mutationFn: async (body: ReplayInput) =>
      unwrap(await api.POST("/api/v1/backtests/replays/estimate/", { body })),
  });

/** `POST /backtests/replays/`: create and start a replay; refreshes the lists. */
export const useCreateReplay = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: ReplayInput) =>
      unwrap(await api.POST("/api/v1/backtests/replays/", { body })),
    onSuccess: (replay) => {
      queryClient.setQueryData(backtestKeys.detail(replay.id), replay);
      void queryClient.invalidateQueries({ queryKey: backtestKeys.lists() });
    },
  });
};

function useBacktestChanged() {
  const queryClient = useQueryClient();
  return (backtest: Backtest) => {
    queryClient.setQueryData(backtestKeys.detail(backtest.id), backtest);
    void queryClient.invalidateQueries({ queryKey: backtestKeys.lists() });
  };
}

/** `POST /backtests/{id}/cancel/`: workers stop before their next slot. */
export const useCancelBacktest = () => {
  const changed = useBacktestChanged();
  return useMutation({
    mutationFn: async (id: number) =>
      unwrap(await api.POST("/api/v1/backtests/{id}/cancel/", { params: { path: { id } } })),
    onSuccess: changed,
  });
};

/** `POST /backtests/{id}/resume/` of a failed or cancelled backtest (`confirm` above max cost). */
export const useResumeBacktest = () => {
  const changed = useBacktestChanged();
  return useMutation({
    mutationFn: async ({ id, maxCost, confirm }: { id: number; maxCost?: string; confirm?: boolean }) =>
      unwrap(
        await api.POST("/api/v1/backtests/{id}/resume/", {
          params: { path: { id } },
          body: { confirm: confirm ?? false, ...(maxCost ? { max_cost: maxCost } : {}) },
        }),
      ),
    onSuccess: changed,
  });
};
