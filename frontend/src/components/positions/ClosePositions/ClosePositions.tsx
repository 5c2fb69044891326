import { useEffect, useRef, useState, type ReactNode } from "react";
import { Link } from "react-router";
import {
  useCloseAll,
  useClosePosition,
  type CloseAllResult,
  type CloseAllScope,
  type PositionActionDetail,
} from "../../../api/positionActions";
import { formatNumber, humanize } from "../../../lib/format";

/**
 * The confirmation step of a close: what will happen, an optional note (kept on the position
 * action), Close or Cancel; then the server's answer or its error. Focus starts on Cancel, so
 * Enter alone closes nothing.
 */
export function CloseDialog({
  title,
  question,
  confirmLabel,
  pending,
  error,
  result,
  onConfirm,
  onDismiss,
}: {
  title: string;
  question: ReactNode;
  confirmLabel: string;
  pending: boolean;
  /** The server's refusal or failure (its `detail`). */
  error: Error | null;
  /** The server's answer, once it came. */
  result: ReactNode | null;
  onConfirm: (note: string) => void;
  onDismiss: () => void;
}) {
  const [note, setNote] = useState("");
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => cancelRef.current?.focus(), []);
  return (
    <div className="close-dialog card" role="dialog" aria-label={title}>
      <p>
        <strong>{question}</strong>
      </p>
      {result === null ? (
        <>
          <label>
            Note (optional: why)
            <textarea
              value={note}
              rows={2}
              onChange={(e) => setNote(e.target.value)}
              disabled={pending}
            />
          </label>
          {error && (
            <p className="step-error" role="alert">
              {error.message}
            </p>
          )}
          <div className="actions">
            <button
              type="button"
              className="danger"
              disabled={pending}
              onClick={() => onConfirm(note.trim())}
            >
              {pending ? "Closing…" : confirmLabel}
            </button>
            <button ref={cancelRef} type="button" onClick={onDismiss} disabled={pending}>
              Cancel
            </button>
          </div>
        </>
      ) : (
        <>
          <div role="status">{result}</div>
          <div className="actions">
            <button type="button" onClick={onDismiss}>
              Done
            </button>
          </div>
        </>
      )}
    </div>
  );
}

/** What a person's close did, in a line: the exit sent (side, quantity, type, status). */
export function describeClose(action: PositionActionDetail): ReactNode {
  const exit = action.orders.find((o) => o.role === "exit");
  const flat = (action.detail as { flat_before_close?: boolean } | null)?.flat_before_close;
  return (
    <>
      Close #{action.id} {humanize(action.status)}
      {flat
        ? ": the position went flat before the exit was sent."
        : exit && (
            <>
              : <Link to={`/orders/${exit.id}`}>order #{exit.id}</Link> {exit.side}{" "}
              {formatNumber(exit.quantity)} {exit.order_type} ({humanize(exit.status)})
            </>
          )}
      {action.error_message && <span className="step-error"> {action.error_message}</span>}
    </>
  );
}

/** A close-all's report: closes sent, orders cancelled, positions already closing, failures. */
export function describeCloseAll(result: CloseAllResult): ReactNode {
  const busy = (result.action.detail as { already_closing?: string[] } | null)?.already_closing ?? [];
  return (
    <>
      <p>
        Close-all #{result.action.id} {humanize(result.action.status)}:{" "}
        {result.closes.length} position{result.closes.length === 1 ? "" : "s"} closed,{" "}
        {result.cancelled.length} working order{result.cancelled.length === 1 ? "" : "s"}{" "}
        cancelled
        {busy.length > 0 && `, ${busy.length} already closing`}.
      </p>
      {result.closes.length > 0 && (
        <ul>
          {result.closes.map((c) => (
            <li key={c.id}>
              {c.strategy} {c.symbol}: {describeClose(c)}
            </li>
          ))}
        </ul>
      )}
      {result.failures.length > 0 && (
        <ul className="step-error" role="alert">
          {result.failures.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      )}
    </>
  );
}

type PositionToClose = { id: number; side: string; quantity: string; symbol: string; strategy: string };

function ClosePositionDialog({
  position,
  onDismiss,
}: {
  position: PositionToClose;
  onDismiss: () => void;
}) {
  const close = useClosePosition();
  const quantity = formatNumber(position.quantity.replace(/^-/, ""));
  return (
    <CloseDialog
      title={`Close position #${position.id}`}
      question={`Close ${position.strategy}'s ${position.side} ${quantity} ${position.symbol} at market? Its stop and target are cancelled first.`}
      confirmLabel="Close position"
      pending={close.isPending}
      error={close.error}
      result={close.data ? describeClose(close.data) : null}
      onConfirm={(note) => close.mutate({ id: position.id, note })}
      onDismiss={onDismiss}
    />
  );
}

/** "Close" for one open strategy position, with its confirmation and the server's answer. */
export function ClosePositionButton({
  position,
  disabled = false,
}: {
  position: PositionToClose;
  /** A close is already on its way. */
  disabled?: boolean;
}) {
  const [open, setOpen] = useState(false);
  if (open) return <ClosePositionDialog position={position} onDismiss={() => setOpen(false)} />;
  return (
    <button
      type="button"
      className="danger small"
      disabled={disabled}
      title={disabled ? "A close of this position is already working" : undefined}
      onClick={() => setOpen(true)}
    >
      {disabled ? "Closing…" : "Close"}
    </button>
  );
}

function CloseAllDialog({
  scope,
  what,
  onDismiss,
}: {
  scope: CloseAllScope;
  what: string;
  onDismiss: () => void;
}) {
  const closeAll = useCloseAll();
  return (
    <CloseDialog
      title={`Close all positions of ${what}`}
      question={`Close every open position of ${what} at market and cancel its working entries?`}
      confirmLabel="Close all"
      pending={closeAll.isPending}
      error={closeAll.error}
      result={closeAll.data ? describeCloseAll(closeAll.data) : null}
      onConfirm={(note) => closeAll.mutate({ scope, note })}
      onDismiss={onDismiss}
    />
  );
}

/** "Close all" for an account (or one of its symbols) or a strategy, with its confirmation. */
export function CloseAllButton({
  scope,
  what,
  label = "Close all",
}: {
  scope: CloseAllScope;
  /** Who the positions belong to, for the question: "account Paper (alice)", "strategy X". */
  what: string;
  label?: string;
}) {
  const [open, setOpen] = useState(false);
  if (open) return <CloseAllDialog scope={scope} what={what} onDismiss={() => setOpen(false)} />;
  return (
    <button type="button" className="danger" onClick={() => setOpen(true)}>
      {label}
    </button>
  );
}
