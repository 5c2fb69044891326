/**
 * Closing positions and the position actions that record them: a person's close of one
 * strategy position (`POST /strategy-positions/{id}/close/`), close-all of an account
 * (`POST /accounts/{id}/close-all/`, optionally narrowed to a symbol or a strategy) or of a
 * strategy (`POST /strategies/{id}/close-all/`); the actions list (`GET /position-actions/`).
 * A close refreshes everything that shows positions and orders.
 */
import {
  keepPreviousData,
  queryOptions,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryClient,
} from "@tanstack/react-query";
import { accountKeys } from "../accounts";
import { api, unwrap } from "../client";
import { orderKeys } from "../orders";
import { positionKeys } from "../positions";
import type { paths } from "../schema";
import { strategyPositionKeys } from "../strategyPositions";

export type { CloseAllResult, PositionAction, PositionActionDetail } from "../types";

export type PositionActionsFilter = NonNullable<
  paths["/api/v1/position-actions/"]["get"]["parameters"]["query"]
>;

export const positionActionKeys = {
  all: ["position-actions"] as const,
  list: (filter: PositionActionsFilter) => [...positionActionKeys.all, "list", filter] as const,
};

export const buildListPositionActionsQuery = (filter: PositionActionsFilter = {}) =>
  queryOptions({
    queryKey: positionActionKeys.list(filter),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/position-actions/", { params: { query: filter } })),
    placeholderData: keepPreviousData,
  });

export const usePositionActions = (filter: PositionActionsFilter = {}) =>
  useQuery(buildListPositionActionsQuery(filter));

/** After a close: positions, orders and actions may all have changed. */
function refreshAfterClose(queryClient: QueryClient) {
  for (const key of [
    accountKeys.all,
    positionKeys.all,
    strategyPositionKeys.all,
    orderKeys.all,
    positionActionKeys.all,
  ]) {
    void queryClient.invalidateQueries({ queryKey: key });
  }
}

/** `POST /strategy-positions/{id}/close/` with the person's note; answers the position action. */
export const useClosePosition = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, note }: { id: number; note: string }) =>
      unwrap(
        await api.POST("/api/v1/strategy-positions/{id}/close/", {
          params: { path: { id } },
          body: { note },
        }),
      ),
    onSettled: () => refreshAfterClose(queryClient),
  });
};

/** What a close-all covers: a whole account (optionally one symbol of it) or one strategy. */
export type CloseAllScope =
  | { account: number; symbol?: number; strategy?: number }
  | { strategy: number; account?: undefined };

/** `POST /accounts/{id}/close-all/` or `POST /strategies/{id}/close-all/` with the note. */
export const useCloseAll = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ scope, note }: { scope: CloseAllScope; note: string }) =>
      scope.account !== undefined
        ? unwrap(
            await api.POST("/api/v1/accounts/{id}/close-all/", {
              params: { path: { id: scope.account } },
              body: { note, symbol: scope.symbol ?? null, strategy: scope.strategy ?? null },
            }),
          )
        : unwrap(
            await api.POST("/api/v1/strategies/{id}/close-all/", {
              params: { path: { id: scope.strategy } },
              body: { note },
            }),
          ),
    onSettled: () => refreshAfterClose(queryClient),
  });
};
