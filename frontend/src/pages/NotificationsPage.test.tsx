import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NotificationChannel, NotificationDelivery } from "../api/notifications";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { NotificationsPage } from "./NotificationsPage";

const EVENTS = [
  { value: "order_filled", name: "Order filled" },
  { value: "stop_hit", name: "Stop-loss hit" },
  { value: "run_failed", name: "Run failed" },
];

const channel: NotificationChannel = {
  id: 3,
  owner: 7,
  name: "phone",
  url_masked: "tgram://1...h/424242/?image=False",
  service: "Telegram",
  events: ["stop_hit"],
  is_active: true,
  created_at: "2026-12-07T10:00:00Z",
  updated_at: "2026-12-07T10:00:00Z",
};

const delivery = (over: Partial<NotificationDelivery> = {}): NotificationDelivery => ({
  id: 11,
  channel: 3,
  channel_name: "phone",
  event: "stop_hit",
  title: "GOOG stop-loss hit: BUY 10 @ 590",
  body: "…",
  link: "",
  status: "sent",
  attempts: 1,
  last_error: "",
  next_attempt_at: "2026-12-07T10:00:00Z",
  sent_at: "2026-12-07T10:00:01Z",
  created_at: "2026-12-07T10:00:00Z",
  updated_at: "2026-12-07T10:00:01Z",
  ...over,
});

const page = <T,>(results: T[]) => ({ count: results.length, next: null, previous: null, results });

afterEach(() => vi.unstubAllGlobals());

function stubApi(overrides: (url: URL, request: Request) => Response | Promise<Response> | undefined) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    mockFetch(async (url, request) => {
      const body = request.method === "GET" ? undefined : await request.clone().text();
      calls.push({ method: request.method, path: url.pathname, body: body ? JSON.parse(body) : undefined });
      const answer = await overrides(url, request);
      if (answer) return answer;
      if (url.pathname === "/api/v1/notification-events/") return jsonResponse(EVENTS);
      if (url.pathname === "/api/v1/notification-channels/") return jsonResponse(page([channel]));
      if (url.pathname === "/api/v1/notification-deliveries/")
        return jsonResponse(page([delivery()]));
      return jsonResponse({ detail: "Not found." }, 404);
    }),
  );
  return calls;
}

describe("NotificationsPage", () => {
  it("shows channels masked, their events and the recent deliveries", async () => {
    stubApi(() => undefined);
    renderWithProviders(<NotificationsPage />);

    const row = await screen.findByRole("listitem", { name: "Channel phone" });
    expect(within(row).getByText(channel.url_masked)).toBeInTheDocument();
    expect(within(row).getByLabelText("Stop-loss hit")).toBeChecked();
    expect(within(row).getByLabelText("Order filled")).not.toBeChecked();
    const table = await screen.findByRole("table", { name: "Recent deliveries" });
    expect(within(table).getByText("GOOG stop-loss hit: BUY 10 @ 590")).toBeInTheDocument();
  });

  it("adds a channel with the chosen events and shows a refused URL's reason", async () => {
    let refuse = true;
    const calls = stubApi((url, request) => {
      if (url.pathname === "/api/v1/notification-channels/" && request.method === "POST") {
        if (refuse)
          return jsonResponse(
            { url: ["refused by the outbound URL policy: 10.0.0.8 is private"] },
            400,
          );
        return jsonResponse({ ...channel, id: 4, name: "hook" }, 201);
      }
      return undefined;
    });
    renderWithProviders(<NotificationsPage />);
    const form = await screen.findByRole("form", { name: "Add a channel" });
    await within(form).findByLabelText("Run failed");

    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: "hook" } });
    fireEvent.change(within(form).getByLabelText("Apprise URL"), {
      target: { value: "json://10.0.0.8/hook" },
    });
    fireEvent.click(within(form).getByLabelText("Run failed"));
    fireEvent.click(within(form).getByRole("button", { name: "Add channel" }));

    expect(await within(form).findByText(/10.0.0.8 is private/)).toBeInTheDocument();
    const posted = calls.filter((c) => c.method === "POST");
    expect(posted[0]?.body).toEqual({ name: "hook", url: "json://10.0.0.8/hook", events: ["run_failed"] });

    refuse = false;
    fireEvent.click(within(form).getByRole("button", { name: "Add channel" }));
    await waitFor(() => expect(within(form).getByLabelText("Name")).toHaveValue(""));
  });

  it("sends a test and shows the outcome", async () => {
    stubApi((url, request) => {
      if (url.pathname === "/api/v1/notification-channels/3/test/" && request.method === "POST")
        return jsonResponse(
          delivery({ id: 12, event: "test", status: "failed", last_error: "error=500." }),
        );
      return undefined;
    });
    renderWithProviders(<NotificationsPage />);
    const row = await screen.findByRole("listitem", { name: "Channel phone" });

    fireEvent.click(within(row).getByRole("button", { name: "Send test" }));

    expect(await within(row).findByRole("status")).toHaveTextContent("Test failed: error=500.");
  });

  it("changes a channel's events", async () => {
    const calls = stubApi((url, request) => {
      if (url.pathname === "/api/v1/notification-channels/3/" && request.method === "PATCH")
        return jsonResponse({ ...channel, events: ["order_filled", "stop_hit"] });
      return undefined;
    });
    renderWithProviders(<NotificationsPage />);
    const row = await screen.findByRole("listitem", { name: "Channel phone" });

    fireEvent.click(within(row).getByLabelText("Order filled"));

    await waitFor(() =>
      expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({
        events: ["order_filled", "stop_hit"],
      }),
    );
  });
});
