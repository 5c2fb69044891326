import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap } from "../client";
import type { components, paths } from "../schema";

type S = components["schemas"];

/** One immutable, saved version of a named Jinja2 prompt template. */
export type PromptTemplate = S["PromptTemplateOutput"];
/** A template version's latest performance score (`GET /prompt-templates/scores/`). */
export type PromptScore = S["PromptScore"];

export type PromptTemplatesFilter = Pick<
  NonNullable<paths["/api/v1/prompt-templates/"]["get"]["parameters"]["query"]>,
  "name"
>;

/** Query keys for prompt templates (Prefect ui-v2 style factory). */
export const promptKeys = {
  all: ["prompt-templates"] as const,
  lists: () => [...promptKeys.all, "list"] as const,
  list: (filter: PromptTemplatesFilter) => [...promptKeys.lists(), filter] as const,
  details: () => [...promptKeys.all, "detail"] as const,
  detail: (id: number) => [...promptKeys.details(), id] as const,
  scores: () => [...promptKeys.all, "scores"] as const,
};

// The API pages by number (at most 200 a page). Templates are few, and the pages need every
// version at once (grouping by name, picking diff pairs), so the list query walks all pages;
// the cap only guards against a server that keeps answering `next`.
const PAGE_SIZE = 200;
const MAX_PAGES = 50;

/**
 * Every version matching `filter` (all templates, or one `name`), walking the pages.
 * Output: versions as the API orders them — by name, then newest version first.
 */
export async function fetchAllPromptVersions(
  filter: PromptTemplatesFilter = {},
): Promise<PromptTemplate[]> {
  const versions: PromptTemplate[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const data = unwrap(
      await api.GET("/api/v1/prompt-templates/", {
        params: { query: { ...filter, page, page_size: PAGE_SIZE } },
      }),
    );
    versions.push(...data.results);
    if (!data.next) break;
  }
  return versions;
}

/** All versions (or those of `filter.name`), newest version first within a name. */
export const buildListPromptTemplatesQuery = (filter: PromptTemplatesFilter = {}) =>
  queryOptions({
    queryKey: promptKeys.list(filter),
    queryFn: () => fetchAllPromptVersions(filter),
  });

/** One version by id. */
export const buildGetPromptTemplateQuery = (id: number) =>
  queryOptions({
    queryKey: promptKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/prompt-templates/{id}/", { params: { path: { id } } })),
    staleTime: Infinity, // a saved version never changes
  });

/** The latest score of every scored version (not paginated; computed daily). */
export const buildPromptScoresQuery = () =>
  queryOptions({
    queryKey: promptKeys.scores(),
    queryFn: async () => unwrap(await api.GET("/api/v1/prompt-templates/scores/")),
  });

export const usePromptTemplates = (filter: PromptTemplatesFilter = {}) =>
  useQuery(buildListPromptTemplatesQuery(filter));
export const usePromptTemplate = (id: number) => useQuery(buildGetPromptTemplateQuery(id));
export const usePromptScores = () => useQuery(buildPromptScoresQuery());

/** Input of a preview: which saved version to render against which run's data. */
export interface PromptPreviewInput {
  templateId: number;
  runId: number;
}

/**
 * `POST /prompt-templates/{id}/preview/` — renders a saved version against a run without
 * calling a model. Resolves to `{prompt}`; a template or data failure rejects with an
 * `ApiError` whose body is `{detail, code}` (e.g. `PromptRenderError`).
 */
export const usePreviewPrompt = () =>
  useMutation({
    mutationFn: async ({ templateId, runId }: PromptPreviewInput) =>
      unwrap(
        await api.POST("/api/v1/prompt-templates/{id}/preview/", {
          params: { path: { id: templateId } },
          body: { run_id: runId },
        }),
      ),
  });

/** What saving a body produced: the version, and whether it is new (201) or the latest (200). */
export interface SavedPromptVersion {
  template: PromptTemplate;
  created: boolean;
}

/**
 * `POST /prompt-templates/` — saves `{name, body}` as the next version of your own template
 * `name` (names are per owner). Resolves
 * once the version lists are refetched, so the caller can select the new version right away;
 * a 400 rejects with an `ApiError` carrying the field errors (see `fieldErrorsOf`).
 */
export const useCreatePromptVersion = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (input: { name: string; body: string }): Promise<SavedPromptVersion> => {
      const result = await api.POST("/api/v1/prompt-templates/", { body: input });
      const template = unwrap(result);
      return { template, created: result.response.status === 201 };
    },
    onSuccess: async ({ template }) => {
      queryClient.setQueryData(promptKeys.detail(template.id), template);
      await queryClient.invalidateQueries({ queryKey: promptKeys.lists() });
    },
  });
};

/**
 * `POST /prompt-templates/{id}/versions/` — saves `body` as the next version of the name that
 * version `templateId` belongs to (its owner's, whoever saves it; the API answers 403 when the
 * template is read-only to you). Resolves once the version lists are refetched; a 400 rejects
 * with an `ApiError` carrying the field errors (see `fieldErrorsOf`).
 */
export const useSavePromptVersion = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (input: {
      templateId: number;
      body: string;
    }): Promise<SavedPromptVersion> => {
      const result = await api.POST("/api/v1/prompt-templates/{id}/versions/", {
        params: { path: { id: input.templateId } },
        body: { body: input.body },
      });
      const template = unwrap(result);
      return { template, created: result.response.status === 201 };
    },
    onSuccess: async ({ template }) => {
      queryClient.setQueryData(promptKeys.detail(template.id), template);
      await queryClient.invalidateQueries({ queryKey: promptKeys.lists() });
    },
  });
};

/**
 * DRF's field errors (`{"<field>": ["<message>", …]}`) from a 400 `ApiError`; `{}` for any
 * other error or a whole-request `detail`.
 */
export function fieldErrorsOf(error: unknown): Record<string, string[]> {
  if (!(error instanceof ApiError) || error.status !== 400) return {};
  const body = error.body;
  if (!body || typeof body !== "object" || Array.isArray(body)) return {};
  const out: Record<string, string[]> = {};
  for (const [field, messages] of Object.entries(body as Record<string, unknown>)) {
    if (Array.isArray(messages)) out[field] = messages.map(String);
  }
  return out;
}

/** The domain error class a 400 names (`{"detail", "code"}`), e.g. `PromptRenderError`. */
export function errorCodeOf(error: unknown): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const code = (error.body as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}
