/**
 * Trading accounts: `GET /api/v1/accounts/` and `GET /api/v1/accounts/{id}/portfolio/`.
 *
 * TODO(generated types): these endpoints are being built and are not in openapi.yaml yet, so the
 * types below are HAND-WRITTEN from the agreed field list and the fetches bypass the typed
 * openapi-fetch client. Once `manage.py spectacular` emits them, replace the types with
 * `components["schemas"][...]` aliases in api/types.ts and the fetches with `api.GET(...)`.
 */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { ApiError } from "../client";

/** Hand-written (see the module note): how the account holds opposite positions in a symbol. */
export type PositionMode = "netting" | "hedge";
/** Hand-written: netting mode, may a strategy open the side opposite another strategy's? */
export type OppositePolicy = "reject" | "allow";
/** Hand-written: several strategies entering the same side of one symbol. */
export type SameDirectionPolicy = "accumulate" | "reject_duplicates" | "strongest_wins";

/** Hand-written (see the module note): one currency's starting cash (decimal string). */
export interface AccountCash {
  currency: string;
  starting_cash: string;
}

/** Hand-written (see the module note): an account as `GET /accounts/` lists it. */
export interface Account {
  id: number;
  name: string;
  /** "paper" (embedded paper broker) or "ibkr". */
  broker: string;
  /** The broker's id (IBKR: DU… paper, U… live); blank for the paper book. */
  broker_account_id: string;
  kind: "paper" | "live";
  base_currency: string;
  position_mode: PositionMode;
  opposite_policy: OppositePolicy;
  same_direction_policy: SameDirectionPolicy;
  /** Shares/contracts/units all strategies together may hold per symbol side; null: no limit. */
  max_position_per_symbol: string | null;
  cash: AccountCash[];
}

/** Hand-written placeholder: the portfolio's shape is not agreed yet; read it as JSON. */
export type AccountPortfolio = Record<string, unknown>;

const baseUrl = () => (typeof window !== "undefined" ? window.location.origin : "");

/** GET a JSON endpoint with the session cookie; a non-2xx answer throws ApiError. */
async function getJson<T>(path: string): Promise<T> {
  const response = await globalThis.fetch(
    new Request(`${baseUrl()}${path}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }),
  );
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the error message
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body as T;
}

/** The list as an array, whether the endpoint pages it (`{results}`) or not. */
const results = <T>(body: T[] | { results: T[] }): T[] =>
  Array.isArray(body) ? body : body.results;

export const accountKeys = {
  all: ["accounts"] as const,
  list: () => [...accountKeys.all, "list"] as const,
  portfolio: (id: number) => [...accountKeys.all, "portfolio", id] as const,
};

export const buildListAccountsQuery = () =>
  queryOptions({
    queryKey: accountKeys.list(),
    queryFn: async () =>
      results(await getJson<Account[] | { results: Account[] }>("/api/v1/accounts/?page_size=200")),
  });

export const buildAccountPortfolioQuery = (id: number) =>
  queryOptions({
    queryKey: accountKeys.portfolio(id),
    queryFn: () => getJson<AccountPortfolio>(`/api/v1/accounts/${id}/portfolio/`),
  });

export const useAccounts = () => useQuery(buildListAccountsQuery());
export const useAccountPortfolio = (id: number) => useQuery(buildAccountPortfolioQuery(id));
