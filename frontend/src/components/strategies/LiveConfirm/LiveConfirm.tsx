import { useEffect, useRef } from "react";

/**
 * The inline "are you sure?" step before a live strategy trades (or changes how it trades):
 * Confirm or Cancel. Focus starts on Cancel, so Enter alone does not trade.
 */
export function LiveConfirm({
  question,
  onConfirm,
  onCancel,
}: {
  question: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  // Focus moves to the choice, on its safe side: Enter alone does not trade.
  useEffect(() => cancelRef.current?.focus(), []);
  return (
    <div
      className="live-warning live-confirm-step"
      role="alertdialog"
      aria-label="Confirm live trading"
    >
      <p>
        <strong>{question}</strong>
      </p>
      <div className="actions">
        <button type="button" className="primary live" onClick={onConfirm}>
          Confirm
        </button>
        <button ref={cancelRef} type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
