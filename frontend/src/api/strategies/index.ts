import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import { runKeys } from "../runs";
import type { paths } from "../schema";
import type { Strategy, StrategyInput, StrategyPatch } from "../types";

export type StrategiesFilter = NonNullable<
  paths["/api/v1/strategies/"]["get"]["parameters"]["query"]
>;

export const strategyKeys = {
  all: ["strategies"] as const,
  lists: () => [...strategyKeys.all, "list"] as const,
  list: (filter: StrategiesFilter) => [...strategyKeys.lists(), filter] as const,
  details: () => [...strategyKeys.all, "detail"] as const,
  detail: (id: number) => [...strategyKeys.details(), id] as const,
};

export const buildListStrategiesQuery = (filter: StrategiesFilter = {}) =>
  queryOptions({
    queryKey: strategyKeys.list(filter),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/strategies/", { params: { query: filter } })),
  });

export const buildGetStrategyQuery = (id: number) =>
  queryOptions({
    queryKey: strategyKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/strategies/{id}/", { params: { path: { id } } })),
  });

export const useStrategies = (filter: StrategiesFilter = {}) =>
  useQuery(buildListStrategiesQuery(filter));
export const useStrategy = (id: number) => useQuery(buildGetStrategyQuery(id));

/** `POST /strategies/{id}/run/` — 202 `{run_id, status}`; the run executes on a worker. */
export const useRunStrategyNow = (id: number) => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/strategies/{id}/run/", {
          params: { path: { id } },
          body: {},
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: runKeys.lists() }),
  });
};

/** Store a strategy the API answered with, and refresh the lists it may have moved in. */
function useStrategyChanged() {
  const queryClient = useQueryClient();
  return (strategy: Strategy) => {
    queryClient.setQueryData(strategyKeys.detail(strategy.id), strategy);
    void queryClient.invalidateQueries({ queryKey: strategyKeys.lists() });
  };
}

/** `POST /strategies/` — 201 with the strategy; a 400's `ApiError.body` maps fields to messages. */
export const useCreateStrategy = () => {
  const changed = useStrategyChanged();
  return useMutation({
    mutationFn: async (body: StrategyInput) =>
      unwrap(await api.POST("/api/v1/strategies/", { body })),
    onSuccess: changed,
  });
};

/** `PATCH /strategies/{id}/` — the changed fields; validated as a whole by the API. */
export const useUpdateStrategy = (id: number) => {
  const changed = useStrategyChanged();
  return useMutation({
    mutationFn: async (body: StrategyPatch) =>
      unwrap(await api.PATCH("/api/v1/strategies/{id}/", { params: { path: { id } }, body })),
    onSuccess: changed,
  });
};

/** `POST /strategies/{id}/activate/` or `deactivate/` (both idempotent). */
export const useSetStrategyActive = (id: number) => {
  const changed = useStrategyChanged();
  return useMutation({
    mutationFn: async (active: boolean) =>
      unwrap(
        active
          ? await api.POST("/api/v1/strategies/{id}/activate/", { params: { path: { id } } })
          : await api.POST("/api/v1/strategies/{id}/deactivate/", { params: { path: { id } } }),
      ),
    onSuccess: changed,
  });
};

/**
 * `GET /strategies/{id}/llm-budget/` — each LLM budget that applies to the strategy (its own
 * and its owner's, per UTC day and month): limit, spend since the period began and what
 * remains, in USD (null limit / remaining: no limit).
 */
export const useStrategyLlmBudget = (id: number) =>
  useQuery({
    queryKey: [...strategyKeys.detail(id), "llm-budget"] as const,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/strategies/{id}/llm-budget/", { params: { path: { id } } }),
      ),
  });
