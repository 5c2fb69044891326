import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import type { paths } from "../schema";

export type SignalsFilter = NonNullable<paths["/api/v1/signals/"]["get"]["parameters"]["query"]>;

export const signalKeys = {
  all: ["signals"] as const,
  list: (filter: SignalsFilter) => [...signalKeys.all, "list", filter] as const,
};

export const buildListSignalsQuery = (filter: SignalsFilter = {}) =>
  queryOptions({
    queryKey: signalKeys.list(filter),
    queryFn: async () => unwrap(await api.GET("/api/v1/signals/", { params: { query: filter } })),
  });

export const useSignals = (filter: SignalsFilter = {}) => useQuery(buildListSignalsQuery(filter));

/** Midnight of today in the browser's time zone, as an ISO 8601 instant. */
export const startOfToday = (now: Date = new Date()) =>
  new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
