/**
 * Trading accounts: the list (`GET /accounts/`), one account with its members
 * (`GET /accounts/{id}/`), both levels of its positions (`GET /accounts/{id}/positions/`: the
 * broker's per symbol beside the strategies' sum, and the strategies' open positions) and its
 * portfolio per currency and per strategy (`GET /accounts/{id}/portfolio/`).
 */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";

export type {
  Account,
  AccountCash,
  AccountDetail,
  AccountPortfolio,
  AccountPosition,
  AccountPositions,
  OppositePolicy,
  PositionMode,
  SameDirectionPolicy,
} from "../types";

export const accountKeys = {
  all: ["accounts"] as const,
  list: () => [...accountKeys.all, "list"] as const,
  detail: (id: number) => [...accountKeys.all, "detail", id] as const,
  positions: (id: number) => [...accountKeys.all, "positions", id] as const,
  portfolio: (id: number) => [...accountKeys.all, "portfolio", id] as const,
};

/** Every account the user may see (one page of up to 200: a user has a handful). */
export const buildListAccountsQuery = () =>
  queryOptions({
    queryKey: accountKeys.list(),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/accounts/", { params: { query: { page_size: 200 } } }))
        .results,
  });

export const buildGetAccountQuery = (id: number) =>
  queryOptions({
    queryKey: accountKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/accounts/{id}/", { params: { path: { id } } })),
  });

export const buildAccountPositionsQuery = (id: number) =>
  queryOptions({
    queryKey: accountKeys.positions(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/accounts/{id}/positions/", { params: { path: { id } } })),
  });

export const buildAccountPortfolioQuery = (id: number) =>
  queryOptions({
    queryKey: accountKeys.portfolio(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/accounts/{id}/portfolio/", { params: { path: { id } } })),
  });

export const useAccounts = () => useQuery(buildListAccountsQuery());
export const useAccount = (id: number) => useQuery(buildGetAccountQuery(id));
export const useAccountPositions = (id: number) => useQuery(buildAccountPositionsQuery(id));
export const useAccountPortfolio = (id: number) => useQuery(buildAccountPortfolioQuery(id));
