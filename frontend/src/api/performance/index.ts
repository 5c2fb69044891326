/**
 * Performance (read only): `GET /strategies/{id}/performance/`, `GET /accounts/{id}/performance/`
 * and `GET /performance/prompts/`. Money is a decimal string in the entry's `currency` (never
 * added across currencies); win rate and drawdown fraction 0–1, average R in R; equity dates are
 * exchange dates.
 */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import type { components } from "../schema";

type S = components["schemas"];

/** One currency's figures and daily equity curve. */
export type CurrencyPerformance = S["CurrencyPerformance"];
/** One day of an equity curve: equity and drawdown (running peak − equity) at the close. */
export type EquityPoint = S["EquityPoint"];
/** One (prompt version, model, currency) row of `GET /performance/prompts/`. */
export type PromptPerformance = S["PromptPerformance"];

export const performanceKeys = {
  all: ["performance"] as const,
  strategy: (id: number) => [...performanceKeys.all, "strategy", id] as const,
  account: (id: number) => [...performanceKeys.all, "account", id] as const,
  prompts: () => [...performanceKeys.all, "prompts"] as const,
};

export const buildStrategyPerformanceQuery = (id: number) =>
  queryOptions({
    queryKey: performanceKeys.strategy(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/strategies/{id}/performance/", { params: { path: { id } } }),
      ),
  });

export const buildAccountPerformanceQuery = (id: number) =>
  queryOptions({
    queryKey: performanceKeys.account(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/accounts/{id}/performance/", { params: { path: { id } } })),
  });

/** Every (version, model, currency) row over the user's strategies; not paginated. */
export const buildPromptPerformanceQuery = () =>
  queryOptions({
    queryKey: performanceKeys.prompts(),
    queryFn: async () => unwrap(await api.GET("/api/v1/performance/prompts/")),
  });

export const useStrategyPerformance = (id: number) =>
  useQuery(buildStrategyPerformanceQuery(id));
export const useAccountPerformance = (id: number) => useQuery(buildAccountPerformanceQuery(id));
export const usePromptPerformance = () => useQuery(buildPromptPerformanceQuery());
