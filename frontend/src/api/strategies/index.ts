import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import { runKeys } from "../runs";
import type { paths } from "../schema";

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
