import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";

export const positionKeys = {
  all: ["positions"] as const,
  list: () => [...positionKeys.all, "list"] as const,
};

export const buildListPositionsQuery = () =>
  queryOptions({
    queryKey: positionKeys.list(),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/positions/", { params: { query: { page_size: 200 } } })),
  });

export const usePositions = () => useQuery(buildListPositionsQuery());
