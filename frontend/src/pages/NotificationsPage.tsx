import { useState, type FormEvent } from "react";
import {
  useCreateChannel,
  useDeleteChannel,
  useNotificationChannels,
  useNotificationDeliveries,
  useNotificationEvents,
  useTestChannel,
  useUpdateChannel,
  type NotificationChannel,
  type NotificationChannelInput,
  type NotificationDelivery,
  type NotificationEventInfo,
} from "../api/notifications";
import { ApiError } from "../api/client";
import { QueryState } from "../components/ui/QueryState/QueryState";
import { StatusBadge } from "../components/ui/StatusBadge/StatusBadge";
import { formatDateTime } from "../lib/format";

type EventValue = NonNullable<NotificationChannelInput["events"]>[number];

/** The field errors of a 400 (`{"url": ["…"]}`), or the error's message under `detail`. */
function fieldErrors(error: unknown): Record<string, string> {
  if (error instanceof ApiError && error.body && typeof error.body === "object") {
    return Object.fromEntries(
      Object.entries(error.body as Record<string, unknown>).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.join(" ") : String(v),
      ]),
    );
  }
  return error ? { detail: error instanceof Error ? error.message : String(error) } : {};
}

/** Checkboxes for the event catalogue. */
function EventChecks({
  events,
  chosen,
  onChange,
  idPrefix,
}: {
  events: NotificationEventInfo[];
  chosen: string[];
  onChange: (next: EventValue[]) => void;
  idPrefix: string;
}) {
  const toggle = (value: string, on: boolean) =>
    onChange(
      events
        .map((e) => e.value)
        .filter((v) => (v === value ? on : chosen.includes(v))) as EventValue[],
    );
  return (
    <fieldset className="event-checks">
      <legend>Events</legend>
      {events.map((e) => (
        <label key={e.value} htmlFor={`${idPrefix}-${e.value}`}>
          <input
            id={`${idPrefix}-${e.value}`}
            type="checkbox"
            checked={chosen.includes(e.value)}
            onChange={(ev) => toggle(e.value, ev.target.checked)}
          />{" "}
          {e.name}
        </label>
      ))}
    </fieldset>
  );
}

/** Add a channel: a name, an apprise URL (write-only) and the events it hears about. */
function AddChannelForm({ events }: { events: NotificationEventInfo[] }) {
  const create = useCreateChannel();
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [chosen, setChosen] = useState<EventValue[]>([]);
  const errors = fieldErrors(create.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name, url, events: chosen },
      {
        onSuccess: () => {
          setName("");
          setUrl("");
          setChosen([]);
        },
      },
    );
  };

  return (
    <form className="form-section" aria-label="Add a channel" onSubmit={submit}>
      <h2>Add a channel</h2>
      <div className="field">
        <label htmlFor="channel-name">Name</label>
        <input id="channel-name" required value={name} onChange={(e) => setName(e.target.value)} />
        {errors.name && <p className="field-error">{errors.name}</p>}
      </div>
      <div className="field">
        <label htmlFor="channel-url">Apprise URL</label>
        <input
          id="channel-url"
          type="password"
          autoComplete="off"
          required
          placeholder="tgram://bot-token/chat-id, mailtos://user:pass@example.com, ntfys://topic …"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
        <p className="field-hint">
          Any{" "}
          <a href="https://github.com/caronc/apprise/wiki" target="_blank" rel="noreferrer">
            apprise URL
          </a>
          . It holds tokens: stored encrypted and never shown again, only masked.
        </p>
        {errors.url && <p className="field-error">{errors.url}</p>}
      </div>
      <EventChecks events={events} chosen={chosen} onChange={setChosen} idPrefix="new" />
      {errors.events && <p className="field-error">{errors.events}</p>}
      {errors.detail && <p className="field-error">{errors.detail}</p>}
      <div className="actions">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Adding…" : "Add channel"}
        </button>
      </div>
    </form>
  );
}

/** One channel: masked URL, its events (editable), on/off, test button with the outcome. */
function ChannelRow({
  channel,
  events,
}: {
  channel: NotificationChannel;
  events: NotificationEventInfo[];
}) {
  const update = useUpdateChannel();
  const remove = useDeleteChannel();
  const test = useTestChannel();
  const outcome: NotificationDelivery | undefined = test.data;
  return (
    <li className="channel" aria-label={`Channel ${channel.name}`}>
      <div className="page-head">
        <h3>
          {channel.name} <span className="muted small">{channel.service}</span>
        </h3>
        <div className="row-actions">
          <button type="button" onClick={() => test.mutate(channel.id)} disabled={test.isPending}>
            {test.isPending ? "Sending…" : "Send test"}
          </button>
          <button
            type="button"
            onClick={() => update.mutate({ id: channel.id, is_active: !channel.is_active })}
          >
            {channel.is_active ? "Switch off" : "Switch on"}
          </button>
          <button type="button" className="danger" onClick={() => remove.mutate(channel.id)}>
            Delete
          </button>
        </div>
      </div>
      <p className="muted small mono">{channel.url_masked}</p>
      {!channel.is_active && <p className="notice notice-warning">Switched off.</p>}
      {outcome && (
        <p role="status" className={outcome.status === "sent" ? "notice" : "step-error"}>
          Test {outcome.status}
          {outcome.last_error ? `: ${outcome.last_error}` : "."}
        </p>
      )}
      {test.error && <p className="step-error">{fieldErrors(test.error).detail}</p>}
      <EventChecks
        events={events}
        chosen={channel.events}
        onChange={(next) => update.mutate({ id: channel.id, events: next })}
        idPrefix={`ch${channel.id}`}
      />
      {update.error && <p className="field-error">{Object.values(fieldErrors(update.error)).join(" ")}</p>}
    </li>
  );
}

function DeliveriesTable({ deliveries }: { deliveries: NotificationDelivery[] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Recent deliveries">
        <thead>
          <tr>
            <th>When</th>
            <th>Channel</th>
            <th>Event</th>
            <th>Title</th>
            <th>Status</th>
            <th className="num">Attempts</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((d) => (
            <tr key={d.id}>
              <td>{formatDateTime(d.created_at)}</td>
              <td>{d.channel_name}</td>
              <td>{d.event}</td>
              <td>{d.title}</td>
              <td>
                <StatusBadge status={d.status} />
              </td>
              <td className="num">{d.attempts}</td>
              <td className="small">{d.last_error}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Notification settings: your channels (apprise URLs, masked) and the events each hears about
 * (fills, stops and targets, failed runs, approvals, trading state, reconciliation, budgets,
 * the daily summary), a test button per channel, and the recent deliveries.
 */
export function NotificationsPage() {
  const channels = useNotificationChannels();
  const events = useNotificationEvents();
  const deliveries = useNotificationDeliveries();
  const catalogue = events.data ?? [];
  return (
    <div className="page">
      <h1>Notifications</h1>
      <AddChannelForm events={catalogue} />
      <h2>Channels</h2>
      <QueryState
        query={channels}
        isEmpty={(d) => d.length === 0}
        empty="No channels yet: add one above."
        errorTitle="Could not load channels"
      >
        {(d) => (
          <ul className="channels">
            {d.map((c) => (
              <ChannelRow key={c.id} channel={c} events={catalogue} />
            ))}
          </ul>
        )}
      </QueryState>
      <h2>Recent deliveries</h2>
      <QueryState
        query={deliveries}
        isEmpty={(d) => d.length === 0}
        empty="Nothing sent yet."
        errorTitle="Could not load deliveries"
      >
        {(d) => <DeliveriesTable deliveries={d} />}
      </QueryState>
    </div>
  );
}
