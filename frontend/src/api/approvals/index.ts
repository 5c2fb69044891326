/**
 * The approval queue: brackets held for a person's approval before they go to the broker
 * (`GET /approvals/`, `GET /approvals/{id}/` with the run's lineage summary, `POST
 * /approvals/{id}/approve/` {quantity, down only} and `POST /approvals/{id}/reject/` {reason}).
 */
import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import { orderKeys } from "../orders";
import type { components, paths } from "../schema";

type S = components["schemas"];

export type Approval = S["ApprovalOutput"];
export type ApprovalDetail = S["ApprovalDetailOutput"];
export type ApprovalStatus = S["ApprovalStatusEnum"];
export type ApprovalsFilter = NonNullable<
  paths["/api/v1/approvals/"]["get"]["parameters"]["query"]
>;

export const approvalKeys = {
  all: ["approvals"] as const,
  list: (filter: ApprovalsFilter) => [...approvalKeys.all, "list", filter] as const,
  detail: (id: number) => [...approvalKeys.all, "detail", id] as const,
};

export const buildListApprovalsQuery = (filter: ApprovalsFilter = {}) =>
  queryOptions({
    queryKey: approvalKeys.list(filter),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/approvals/", { params: { query: filter } })),
  });

export const buildGetApprovalQuery = (id: number) =>
  queryOptions({
    queryKey: approvalKeys.detail(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/approvals/{id}/", { params: { path: { id } } })),
  });

export const useApprovals = (filter: ApprovalsFilter = {}) =>
  useQuery(buildListApprovalsQuery(filter));
export const useApproval = (id: number) => useQuery(buildGetApprovalQuery(id));

/** After a decision the queue, the approval and order lists are stale. */
function useDecided() {
  const queryClient = useQueryClient();
  return (data: ApprovalDetail) => {
    queryClient.setQueryData(approvalKeys.detail(data.id), data);
    void queryClient.invalidateQueries({ queryKey: approvalKeys.all });
    void queryClient.invalidateQueries({ queryKey: orderKeys.all });
  };
}

/** `POST /approvals/{id}/approve/`: approve (optionally a lower whole quantity) and send. */
export const useApproveApproval = () => {
  const decided = useDecided();
  return useMutation({
    mutationFn: async ({ id, quantity }: { id: number; quantity?: string }) =>
      unwrap(
        await api.POST("/api/v1/approvals/{id}/approve/", {
          params: { path: { id } },
          body: quantity ? { quantity } : {},
        }),
      ),
    onSuccess: decided,
  });
};

/** `POST /approvals/{id}/reject/` {reason}: the bracket is cancelled unsent. */
export const useRejectApproval = () => {
  const decided = useDecided();
  return useMutation({
    mutationFn: async ({ id, reason }: { id: number; reason: string }) =>
      unwrap(
        await api.POST("/api/v1/approvals/{id}/reject/", {
          params: { path: { id } },
          body: { reason },
        }),
      ),
    onSuccess: decided,
  });
};
