import type { Signal, SignalCheck } from "../../../api/types";
import { formatDateTime, formatNumber, humanize } from "../../../lib/format";
import { StatusBadge } from "../../ui/StatusBadge/StatusBadge";

/** Every validation check of a signal: passed ✓ or failed ✗ with the numbers behind it. */
export function SignalChecks({ checks }: { checks: readonly SignalCheck[] }) {
  if (checks.length === 0) return <p className="muted">No checks recorded.</p>;
  return (
    <ul className="checks" aria-label="Signal checks">
      {checks.map((check) => (
        <li
          key={check.name}
          className={check.passed ? "check check-passed" : "check check-failed"}
          data-testid={`check-${check.name}`}
        >
          <span className="check-mark" aria-hidden="true">
            {check.passed ? "✓" : "✗"}
          </span>
          <span className="check-name">{humanize(check.name)}</span>
          <span className="check-result">{check.passed ? "passed" : "failed"}</span>
          {check.detail && <span className="check-detail">{check.detail}</span>}
        </li>
      ))}
    </ul>
  );
}

/** The signal's decision and its checks. */
export function SignalPanel({ signal }: { signal: Signal }) {
  return (
    <div className="signal">
      <dl className="facts">
        <div>
          <dt>Action</dt>
          <dd>
            <span className={`badge action-${signal.action}`}>{signal.action}</span>
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={signal.status} />
          </dd>
        </div>
        <div>
          <dt>Confidence</dt>
          <dd>{formatNumber(signal.confidence, 2, 2)}</dd>
        </div>
        <div>
          <dt>Entry</dt>
          <dd>{formatNumber(signal.entry)}</dd>
        </div>
        <div>
          <dt>Stop loss</dt>
          <dd>{formatNumber(signal.stop_loss)}</dd>
        </div>
        <div>
          <dt>Take profit</dt>
          <dd>{formatNumber(signal.take_profit)}</dd>
        </div>
        <div>
          <dt>Reward/risk</dt>
          <dd>{formatNumber(signal.reward_risk, 2, 2)}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatDateTime(signal.created_at)}</dd>
        </div>
      </dl>
      {signal.reasoning && <p className="reasoning">{signal.reasoning}</p>}
      {signal.rejection_reasons.length > 0 && (
        <div className="step-error" role="alert">
          <strong>Rejected:</strong> {signal.rejection_reasons.join("; ")}
        </div>
      )}
      <h4>Checks</h4>
      <SignalChecks checks={signal.checks} />
    </div>
  );
}
