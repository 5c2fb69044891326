import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import type { components } from "../schema";

/**
 * An OpenAI-compatible endpoint a strategy may use: the operator's (`owner` null) or the
 * user's own. The key is never returned, only `has_api_key`.
 */
export type LlmEndpoint = components["schemas"]["LlmEndpointOutput"];

/** Query keys for LLM endpoints. */
export const llmEndpointKeys = {
  all: ["llm-endpoints"] as const,
  list: () => [...llmEndpointKeys.all, "list"] as const,
};

// At most 200 a page; endpoints are few, the form needs them all. The cap only guards against
// a server that keeps answering `next`.
const PAGE_SIZE = 200;
const MAX_PAGES = 20;

/** Every endpoint the user may see (the operator's and their own, inactive ones too), by name. */
export async function fetchAllLlmEndpoints(): Promise<LlmEndpoint[]> {
  const endpoints: LlmEndpoint[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const data = unwrap(
      await api.GET("/api/v1/llm-endpoints/", {
        params: { query: { page, page_size: PAGE_SIZE } },
      }),
    );
    endpoints.push(...data.results);
    if (!data.next) break;
  }
  return endpoints;
}

export const buildListLlmEndpointsQuery = () =>
  queryOptions({
    queryKey: llmEndpointKeys.list(),
    queryFn: fetchAllLlmEndpoints,
    staleTime: 5 * 60_000,
  });

export const useLlmEndpoints = () => useQuery(buildListLlmEndpointsQuery());

/** The model ids an endpoint offers (the API types the JSON field loosely); [] = any model. */
export function offeredModels(endpoint: LlmEndpoint | undefined): string[] {
  const models = endpoint?.offered_models;
  return Array.isArray(models) ? models.filter((m): m is string => typeof m === "string") : [];
}
