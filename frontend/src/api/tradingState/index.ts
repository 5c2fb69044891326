/**
 * The kill switch: the platform-wide trading state (`GET/POST /trading-state/`, the POST
 * staff only) and each account's (`GET/POST /accounts/{id}/trading-state/`: its own state, the
 * one that applies and its recent changes). A state is `active` (orders go out), `reducing`
 * (only orders that reduce a position) or `halted` (no order goes out); every change carries
 * a required reason.
 */
import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import type { components } from "../schema";
import { accountKeys } from "../accounts";

type S = components["schemas"];

export type TradingState = S["TradingStateEnum"];
export type TradingStateChange = S["TradingStateChange"];
export type GlobalTradingState = S["GlobalTradingState"];
export type AccountTradingState = S["AccountTradingState"];
export type TradingStateInput = S["TradingStateInputRequest"];

export const TRADING_STATES: readonly TradingState[] = ["active", "reducing", "halted"];

/** What each state lets through, in words. */
export const TRADING_STATE_TEXT: Record<TradingState, string> = {
  active: "orders go out",
  reducing: "only orders that reduce a position go out",
  halted: "no order goes out",
};

const RANK: Record<TradingState, number> = { active: 0, reducing: 1, halted: 2 };

/**
 * The state that applies to an account: the more restrictive of its own and the global one
 * (the API's `effective_state`), with where it comes from.
 */
export function effectiveState(
  own: TradingState,
  global: TradingState | undefined,
): { state: TradingState; scope: "account" | "global" } {
  if (global !== undefined && RANK[global] > RANK[own]) return { state: global, scope: "global" };
  return { state: own, scope: "account" };
}

/** While signed in the header polls the global state this often (ms). */
export const TRADING_STATE_POLL_MS = 30_000;

export const tradingStateKeys = {
  all: ["trading-state"] as const,
  global: () => [...tradingStateKeys.all, "global"] as const,
  account: (id: number) => [...tradingStateKeys.all, "account", id] as const,
};

export const buildGlobalTradingStateQuery = () =>
  queryOptions({
    queryKey: tradingStateKeys.global(),
    queryFn: async () => unwrap(await api.GET("/api/v1/trading-state/")),
  });

/** The global state; `enabled` false (signed out) fetches nothing. Polls while enabled. */
export const useGlobalTradingState = (enabled = true) =>
  useQuery({
    ...buildGlobalTradingStateQuery(),
    enabled,
    refetchInterval: enabled ? TRADING_STATE_POLL_MS : false,
  });

export const buildAccountTradingStateQuery = (id: number) =>
  queryOptions({
    queryKey: tradingStateKeys.account(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/accounts/{id}/trading-state/", { params: { path: { id } } })),
  });

export const useAccountTradingState = (id: number) =>
  useQuery(buildAccountTradingStateQuery(id));

/** After any change: the accounts (their `trading_state`) and every state shown are stale. */
function useStateChanged() {
  const queryClient = useQueryClient();
  return () => {
    void queryClient.invalidateQueries({ queryKey: tradingStateKeys.all });
    void queryClient.invalidateQueries({ queryKey: accountKeys.all });
  };
}

/** `POST /trading-state/` {state, reason}: set the global state (staff only; 403 otherwise). */
export const useSetGlobalTradingState = () => {
  const queryClient = useQueryClient();
  const changed = useStateChanged();
  return useMutation({
    mutationFn: async (body: TradingStateInput) =>
      unwrap(await api.POST("/api/v1/trading-state/", { body })),
    onSuccess: (data) => {
      queryClient.setQueryData(tradingStateKeys.global(), data);
      changed();
    },
  });
};

/** `POST /accounts/{id}/trading-state/` {state, reason}: set one account's own state. */
export const useSetAccountTradingState = (id: number) => {
  const queryClient = useQueryClient();
  const changed = useStateChanged();
  return useMutation({
    mutationFn: async (body: TradingStateInput) =>
      unwrap(
        await api.POST("/api/v1/accounts/{id}/trading-state/", { params: { path: { id } }, body }),
      ),
    onSuccess: (data) => {
      queryClient.setQueryData(tradingStateKeys.account(id), data);
      changed();
    },
  });
};
