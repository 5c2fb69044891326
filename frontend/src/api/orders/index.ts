import {
  keepPreviousData,
  queryOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { api, unwrap } from "../client";
import { runKeys } from "../runs";
import type { paths } from "../schema";
import type { OrderStatus } from "../types";

export type OrdersFilter = NonNullable<paths["/api/v1/orders/"]["get"]["parameters"]["query"]>;

export const orderKeys = {
  all: ["orders"] as const,
  lists: () => [...orderKeys.all, "list"] as const,
  list: (filter: OrdersFilter) => [...orderKeys.lists(), filter] as const,
  details: () => [...orderKeys.all, "detail"] as const,
  detail: (id: number) => [...orderKeys.details(), id] as const,
};

/** Orders the broker is working on: the only ones the API lets you cancel. */
export const CANCELLABLE_STATUSES: readonly OrderStatus[] = ["submitted", "partially_filled"];
export const isCancellable = (status: OrderStatus) => CANCELLABLE_STATUSES.includes(status);

export const ORDER_STATUSES: readonly OrderStatus[] = [
  "awaiting_approval",
  "pending",
  "submitting",
  "submitted",
  "partially_filled",
  "filled",
  "cancelled",
  "rejected",
  "failed",
];

export const buildListOrdersQuery = (filter: OrdersFilter = {}) =>
  queryOptions({
    queryKey: orderKeys.list(filter),
    queryFn: async () => unwrap(await api.GET("/api/v1/orders/", { params: { query: filter } })),
    placeholderData: keepPreviousData,
  });

export const buildGetOrderQuery = (id: number) =>
  queryOptions({
    queryKey: orderKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/orders/{id}/", { params: { path: { id } } })),
  });

export const useOrders = (filter: OrdersFilter = {}) => useQuery(buildListOrdersQuery(filter));
export const useOrder = (id: number) => useQuery(buildGetOrderQuery(id));

/** `POST /orders/{id}/cancel/`; refreshes order lists, the order and run lineages. */
export const useCancelOrder = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (id: number) =>
      unwrap(await api.POST("/api/v1/orders/{id}/cancel/", { params: { path: { id } } })),
    onSuccess: (order) => {
      queryClient.setQueryData(orderKeys.detail(order.id), order);
      void queryClient.invalidateQueries({ queryKey: orderKeys.all });
      if (order.run_id !== null) {
        void queryClient.invalidateQueries({ queryKey: runKeys.detail(order.run_id) });
      }
    },
  });
};

export type FillsFilter = NonNullable<paths["/api/v1/fills/"]["get"]["parameters"]["query"]>;

export const fillKeys = {
  all: ["fills"] as const,
  list: (filter: FillsFilter) => [...fillKeys.all, "list", filter] as const,
};

/** `GET /fills/`: executions in time order (page pagination), e.g. `executed_after` today. */
export const buildListFillsQuery = (filter: FillsFilter = {}) =>
  queryOptions({
    queryKey: fillKeys.list(filter),
    queryFn: async () => unwrap(await api.GET("/api/v1/fills/", { params: { query: filter } })),
  });

export const useFills = (filter: FillsFilter = {}) => useQuery(buildListFillsQuery(filter));
