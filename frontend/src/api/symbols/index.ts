import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import type { paths } from "../schema";

export type SymbolsFilter = NonNullable<paths["/api/v1/symbols/"]["get"]["parameters"]["query"]>;

export const symbolKeys = {
  all: ["symbols"] as const,
  detail: (id: number) => [...symbolKeys.all, "detail", id] as const,
  list: (filter: SymbolsFilter) => [...symbolKeys.all, "list", filter] as const,
};

export const buildListSymbolsQuery = (filter: SymbolsFilter = {}) =>
  queryOptions({
    queryKey: symbolKeys.list(filter),
    queryFn: async () => unwrap(await api.GET("/api/v1/symbols/", { params: { query: filter } })),
    staleTime: 5 * 60_000,
  });

export const useSymbols = (filter: SymbolsFilter = {}) => useQuery(buildListSymbolsQuery(filter));

export const buildGetSymbolQuery = (id: number) =>
  queryOptions({
    queryKey: symbolKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/symbols/{id}/", { params: { path: { id } } })),
    staleTime: 5 * 60_000,
  });

export const useSymbol = (id: number | undefined) =>
  useQuery({ ...buildGetSymbolQuery(id ?? 0), enabled: id !== undefined });
