import { type FormEvent, useId, useState } from "react";
import { useSession } from "../../api/session";
import {
  type AccountTradingState,
  effectiveState,
  TRADING_STATE_TEXT,
  TRADING_STATES,
  type TradingState,
  type TradingStateChange,
  type TradingStateInput,
  useAccountTradingState,
  useGlobalTradingState,
  useSetAccountTradingState,
  useSetGlobalTradingState,
} from "../../api/tradingState";
import { formatDateTime } from "../../lib/format";
import { ErrorState, QueryState } from "../ui/QueryState/QueryState";

/** A trading state in a colored pill (`trading-<state>`: halted red, reducing amber). */
export function TradingStateBadge({ state }: { state: TradingState }) {
  return (
    <span className={`badge trading-${state}`} title={TRADING_STATE_TEXT[state]}>
      {state}
    </span>
  );
}

/**
 * The change dialog: a state and a reason (required: it is shown wherever the state refuses
 * orders). A blank reason is refused here, before anything is sent; `onSubmit` gets
 * `{state, reason}` with the reason trimmed.
 */
export function TradingStateDialog({
  title,
  current,
  pending,
  error,
  onSubmit,
  onClose,
}: {
  title: string;
  current: TradingState;
  pending: boolean;
  error: unknown;
  onSubmit: (body: TradingStateInput) => void;
  onClose: () => void;
}) {
  const id = useId();
  const [state, setState] = useState<TradingState>(current === "active" ? "halted" : "active");
  const [reason, setReason] = useState("");
  const [blank, setBlank] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!reason.trim()) {
      setBlank(true);
      return;
    }
    onSubmit({ state, reason: reason.trim() });
  };
  return (
    <div className="trading-dialog card" role="dialog" aria-label={title}>
      <form onSubmit={submit} aria-label={title}>
        <p className="trading-dialog-title">
          <strong>{title}</strong> (now <TradingStateBadge state={current} />)
        </p>
        <div className="field">
          <label htmlFor={`${id}-state`}>State</label>
          <select
            id={`${id}-state`}
            value={state}
            onChange={(e) => setState(e.target.value as TradingState)}
          >
            {TRADING_STATES.map((s) => (
              <option key={s} value={s}>
                {s}: {TRADING_STATE_TEXT[s]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-reason`}>Reason</label>
          <textarea
            id={`${id}-reason`}
            aria-required="true"
            maxLength={2000}
            rows={2}
            value={reason}
            onChange={(e) => {
              setReason(e.target.value);
              if (e.target.value.trim()) setBlank(false);
            }}
          />
        </div>
        {blank && (
          <p className="step-error" role="alert">
            A reason is required.
          </p>
        )}
        {Boolean(error) && <ErrorState error={error} title="Could not change the trading state" />}
        <div className="row-actions">
          <button type="submit" className={state === "active" ? "primary" : "danger"} disabled={pending}>
            {pending ? "Setting…" : `Set ${state}`}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}

const byWhom = (change: TradingStateChange) =>
  `${change.changed_by ? `by ${change.changed_by}` : `from ${change.source || "unknown"}`}, ${formatDateTime(change.created_at)}`;

/**
 * The header's kill switch, on every page: the global trading state (with the reason when it
 * is not active); staff get a "Change" button opening the state + reason dialog. Nothing while
 * signed out (the state is not shown to anonymous browsers).
 */
export function GlobalTradingStateIndicator() {
  const session = useSession();
  const signedIn = Boolean(session.data);
  const global = useGlobalTradingState(signedIn);
  const set = useSetGlobalTradingState();
  const [open, setOpen] = useState(false);
  if (!signedIn || !global.data) return null;
  const { state, change } = global.data;
  return (
    <div className={`trading-indicator trading-indicator-${state}`} data-testid="global-trading-state">
      <span>Trading:</span> <TradingStateBadge state={state} />
      {state !== "active" && change && <span className="trading-reason small"> {change.reason}</span>}
      {session.data?.is_staff && (
        <button
          type="button"
          className="session-button"
          onClick={() => {
            set.reset();
            setOpen(true);
          }}
        >
          Change
        </button>
      )}
      {open && (
        <TradingStateDialog
          title="Global trading state"
          current={state}
          pending={set.isPending}
          error={set.error}
          onClose={() => setOpen(false)}
          onSubmit={(body) => set.mutate(body, { onSuccess: () => setOpen(false) })}
        />
      )}
    </div>
  );
}

/**
 * Below the header on every page while trading is not active globally: "Trading halted" (or
 * "reducing only") with the reason, who set it and when — the state must not be missed.
 */
export function GlobalTradingBanner() {
  const session = useSession();
  const global = useGlobalTradingState(Boolean(session.data));
  const data = global.data;
  if (!session.data || !data || data.state === "active") return null;
  const change = data.change;
  return (
    <div className={`trading-banner trading-banner-${data.state}`} role="alert" data-testid="trading-banner">
      <strong>{data.state === "halted" ? "Trading halted" : "Trading reducing only"}</strong>
      {`: ${TRADING_STATE_TEXT[data.state]} on any account.`}
      {change && (
        <>
          {" "}
          Reason: {change.reason} <span className="small">({byWhom(change)})</span>
        </>
      )}
    </div>
  );
}

/** An account's recent state changes, newest first. */
export function TradingStateChanges({ changes }: { changes: readonly TradingStateChange[] }) {
  if (changes.length === 0) return <p className="muted">No change recorded: the account has always been active.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Trading state changes">
        <thead>
          <tr>
            <th>When</th>
            <th>From</th>
            <th>To</th>
            <th>Reason</th>
            <th>By</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((c) => (
            <tr key={c.id}>
              <td data-label="When">{formatDateTime(c.created_at)}</td>
              <td data-label="From">
                <TradingStateBadge state={c.previous} />
              </td>
              <td data-label="To">
                <TradingStateBadge state={c.state} />
              </td>
              <td data-label="Reason">{c.reason}</td>
              <td data-label="By">
                {c.changed_by ?? "—"} <span className="muted small">{c.source}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AccountStateFacts({ data }: { data: AccountTradingState }) {
  return (
    <dl className="facts">
      <div>
        <dt>Own state</dt>
        <dd data-testid="account-own-state">
          <TradingStateBadge state={data.state} />
        </dd>
      </div>
      <div>
        <dt>Effective state</dt>
        <dd data-testid="account-effective-state">
          <TradingStateBadge state={data.effective_state} />{" "}
          <span className="muted small">
            {data.effective_scope === "global" ? "set globally" : "the account's own"}
            {data.effective_reason ? `: ${data.effective_reason}` : ""}
          </span>
        </dd>
      </div>
    </dl>
  );
}

/**
 * An account page's kill switch (`GET/POST /accounts/{id}/trading-state/`): its own state and
 * the one that applies (the more restrictive of its own and the global one), a control to
 * change its own (state + required reason) and its recent changes.
 */
export function AccountTradingStatePanel({ accountId }: { accountId: number }) {
  const query = useAccountTradingState(accountId);
  const set = useSetAccountTradingState(accountId);
  const [open, setOpen] = useState(false);
  return (
    <QueryState query={query} loadingLabel="Loading the trading state…" errorTitle="Could not load the trading state">
      {(data) => (
        <>
          {data.effective_state !== "active" && (
            <div className={`trading-banner trading-banner-${data.effective_state}`} role="alert">
              <strong>
                {data.effective_state === "halted" ? "Trading halted" : "Trading reducing only"} on
                this account
              </strong>
              {`: ${TRADING_STATE_TEXT[data.effective_state]}.`}
              {data.effective_reason ? ` Reason: ${data.effective_reason}` : ""}
            </div>
          )}
          <AccountStateFacts data={data} />
          <div className="actions">
            <button
              type="button"
              onClick={() => {
                set.reset();
                setOpen(true);
              }}
            >
              Change trading state
            </button>
          </div>
          {open && (
            <TradingStateDialog
              title="Account trading state"
              current={data.state}
              pending={set.isPending}
              error={set.error}
              onClose={() => setOpen(false)}
              onSubmit={(body) => set.mutate(body, { onSuccess: () => setOpen(false) })}
            />
          )}
          <h3>Recent changes</h3>
          <TradingStateChanges changes={data.changes} />
        </>
      )}
    </QueryState>
  );
}

/**
 * The accounts list's trading cell: the account's own state, the effective one when the
 * global state is more restrictive, and a "Change" control (state + required reason).
 */
export function AccountTradingStateCell({
  accountId,
  name,
  state,
}: {
  accountId: number;
  name: string;
  state: TradingState;
}) {
  const session = useSession();
  const global = useGlobalTradingState(Boolean(session.data));
  const set = useSetAccountTradingState(accountId);
  const [open, setOpen] = useState(false);
  const effective = effectiveState(state, global.data?.state);
  return (
    <>
      <TradingStateBadge state={state} />
      {effective.scope === "global" && (
        <span className="small" data-testid={`account-effective-${accountId}`}>
          {" "}
          effective <TradingStateBadge state={effective.state} /> (global)
        </span>
      )}{" "}
      <button
        type="button"
        className="link-button"
        aria-label={`Change trading state of ${name}`}
        onClick={() => {
          set.reset();
          setOpen(true);
        }}
      >
        Change
      </button>
      {open && (
        <TradingStateDialog
          title={`Trading state of ${name}`}
          current={state}
          pending={set.isPending}
          error={set.error}
          onClose={() => setOpen(false)}
          onSubmit={(body) => set.mutate(body, { onSuccess: () => setOpen(false) })}
        />
      )}
    </>
  );
}
