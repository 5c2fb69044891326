/**
 * Notifications: your channels (`/notification-channels/`: an apprise URL — Telegram, Slack,
 * e-mail, ntfy, a webhook … — shown masked only, and the events it hears about), the test
 * button (`POST …/{id}/test/`, answering the delivery `sent` or `failed` with the reason), the
 * delivery log (`/notification-deliveries/`) and the event catalogue (`/notification-events/`).
 */
import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../client";
import type { components } from "../schema";

type S = components["schemas"];

export type NotificationChannel = S["NotificationChannel"];
export type NotificationChannelInput = S["NotificationChannelInputRequest"];
export type NotificationDelivery = S["NotificationDelivery"];
export type NotificationEventInfo = S["NotificationEventInfo"];

export const notificationKeys = {
  all: ["notifications"] as const,
  channels: () => [...notificationKeys.all, "channels"] as const,
  deliveries: () => [...notificationKeys.all, "deliveries"] as const,
  events: () => [...notificationKeys.all, "events"] as const,
};

export const buildChannelsQuery = () =>
  queryOptions({
    queryKey: notificationKeys.channels(),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/notification-channels/", { params: { query: { page_size: 200 } } }),
      ).results,
  });

export const useNotificationChannels = () => useQuery(buildChannelsQuery());

/** The 50 newest deliveries to your channels. */
export const useNotificationDeliveries = () =>
  useQuery({
    queryKey: notificationKeys.deliveries(),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/notification-deliveries/", { params: { query: { page_size: 50 } } }),
      ).results,
  });

export const useNotificationEvents = () =>
  useQuery({
    queryKey: notificationKeys.events(),
    queryFn: async () => unwrap(await api.GET("/api/v1/notification-events/")),
    staleTime: Infinity,
  });

function useChanged() {
  const queryClient = useQueryClient();
  return () => void queryClient.invalidateQueries({ queryKey: notificationKeys.all });
}

/** `POST /notification-channels/` {name, url, events}: 400 names the field at fault. */
export const useCreateChannel = () => {
  const changed = useChanged();
  return useMutation({
    mutationFn: async (body: NotificationChannelInput) =>
      unwrap(await api.POST("/api/v1/notification-channels/", { body })),
    onSuccess: changed,
  });
};

/** `PATCH /notification-channels/{id}/`: e.g. {events} or {is_active}. */
export const useUpdateChannel = () => {
  const changed = useChanged();
  return useMutation({
    mutationFn: async ({ id, ...body }: { id: number } & Partial<NotificationChannelInput>) =>
      unwrap(
        await api.PATCH("/api/v1/notification-channels/{id}/", {
          params: { path: { id } },
          body,
        }),
      ),
    onSuccess: changed,
  });
};

/** `DELETE /notification-channels/{id}/`. */
export const useDeleteChannel = () => {
  const changed = useChanged();
  return useMutation({
    mutationFn: async (id: number) => {
      const result = await api.DELETE("/api/v1/notification-channels/{id}/", {
        params: { path: { id } },
      });
      if (!result.response.ok) unwrap({ ...result, data: undefined });
    },
    onSuccess: changed,
  });
};

/** `POST /notification-channels/{id}/test/`: the test delivery, sent or failed. */
export const useTestChannel = () => {
  const changed = useChanged();
  return useMutation({
    mutationFn: async (id: number) =>
      unwrap(
        await api.POST("/api/v1/notification-channels/{id}/test/", { params: { path: { id } } }),
      ),
    onSuccess: changed,
  });
};
