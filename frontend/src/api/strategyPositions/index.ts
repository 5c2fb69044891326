/**
 * Strategy position lifetimes, open and closed: `GET /strategy-positions/` (newest first, by
 * cursor; filters account, strategy, symbol, status, side) and `GET /strategy-positions/{id}/`
 * (with its orders and their fills).
 */
import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import type { paths } from "../schema";

export type StrategyPositionsFilter = NonNullable<
  paths["/api/v1/strategy-positions/"]["get"]["parameters"]["query"]
>;

export const strategyPositionKeys = {
  all: ["strategy-positions"] as const,
  lists: () => [...strategyPositionKeys.all, "list"] as const,
  list: (filter: StrategyPositionsFilter) => [...strategyPositionKeys.lists(), filter] as const,
  detail: (id: number) => [...strategyPositionKeys.all, "detail", id] as const,
};

export const buildListStrategyPositionsQuery = (filter: StrategyPositionsFilter = {}) =>
  queryOptions({
    queryKey: strategyPositionKeys.list(filter),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/strategy-positions/", { params: { query: filter } })),
    placeholderData: keepPreviousData,
  });

export const buildGetStrategyPositionQuery = (id: number) =>
  queryOptions({
    queryKey: strategyPositionKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/strategy-positions/{id}/", { params: { path: { id } } })),
  });

export const useStrategyPositions = (filter: StrategyPositionsFilter = {}) =>
  useQuery(buildListStrategyPositionsQuery(filter));
export const useStrategyPosition = (id: number) => useQuery(buildGetStrategyPositionQuery(id));
