import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";

export const symbolKeys = {
  all: ["symbols"] as const,
  detail: (id: number) => [...symbolKeys.all, "detail", id] as const,
};

export const buildGetSymbolQuery = (id: number) =>
  queryOptions({
    queryKey: symbolKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/symbols/{id}/", { params: { path: { id } } })),
    staleTime: 5 * 60_000,
  });

export const useSymbol = (id: number | undefined) =>
  useQuery({ ...buildGetSymbolQuery(id ?? 0), enabled: id !== undefined });
