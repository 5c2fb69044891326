import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import type { paths } from "../schema";
import type { RunDetail, RunStatus } from "../types";

export type RunsFilter = NonNullable<paths["/api/v1/runs/"]["get"]["parameters"]["query"]>;

/** Query keys for runs and their artifacts (Prefect ui-v2 style factory). */
export const runKeys = {
  all: ["runs"] as const,
  lists: () => [...runKeys.all, "list"] as const,
  list: (filter: RunsFilter) => [...runKeys.lists(), filter] as const,
  details: () => [...runKeys.all, "detail"] as const,
  detail: (id: number) => [...runKeys.details(), id] as const,
  artifact: (id: number, as: "json" | "text") => ["artifacts", id, as] as const,
};

/** A run still moving: its lineage page polls. */
export const isRunActive = (status: RunStatus | undefined) =>
  status === "pending" || status === "running";

export const RUN_POLL_MS = 2000;

export const buildListRunsQuery = (filter: RunsFilter = {}) =>
  queryOptions({
    queryKey: runKeys.list(filter),
    queryFn: async () => unwrap(await api.GET("/api/v1/runs/", { params: { query: filter } })),
    placeholderData: keepPreviousData,
  });

export const buildGetRunQuery = (id: number) =>
  queryOptions({
    queryKey: runKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/runs/{id}/", { params: { path: { id } } })),
    // Poll every 2 s while the run is pending or running; stop once it has finished.
    refetchInterval: (query) =>
      isRunActive((query.state.data as RunDetail | undefined)?.status) ? RUN_POLL_MS : false,
  });

export const useRuns = (filter: RunsFilter = {}) => useQuery(buildListRunsQuery(filter));
export const useRun = (id: number) => useQuery(buildGetRunQuery(id));

/** An artifact file (`GET /artifacts/{id}/`), parsed as JSON or read as text. */
export const buildArtifactQuery = <T = unknown>(id: number, as: "json" | "text") =>
  queryOptions({
    queryKey: runKeys.artifact(id, as),
    queryFn: async (): Promise<T> => {
      const result = await api.GET("/api/v1/artifacts/{id}/", {
        params: { path: { id } },
        parseAs: "text",
      });
      const text = unwrap(result) as unknown as string;
      return (as === "json" ? JSON.parse(text) : text) as T;
    },
    staleTime: Infinity, // an artifact never changes
  });

export const useArtifactJson = <T = unknown>(id: number | undefined) =>
  useQuery({ ...buildArtifactQuery<T>(id ?? 0, "json"), enabled: id !== undefined });

export const useArtifactText = (id: number | undefined) =>
  useQuery({ ...buildArtifactQuery<string>(id ?? 0, "text"), enabled: id !== undefined });
