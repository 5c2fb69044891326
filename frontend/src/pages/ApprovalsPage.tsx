import { useState } from "react";
import { Link } from "react-router";
import {
  type ApprovalDetail,
  useApproval,
  useApprovals,
  useApproveApproval,
  useRejectApproval,
} from "../api/approvals";
import { ErrorState, QueryState } from "../components/ui/QueryState/QueryState";
import { formatDateTime, formatMoney, formatNumber } from "../lib/format";

/**
 * The approval queue: each bracket held for a person's approval, with the run's lineage beside
 * it (chart, prompt, answer, checks, size, risk). Approve as requested or with a lower whole
 * quantity (the take-profit and stop-loss follow; prices unchanged), or reject with a reason.
 */
export function ApprovalsPage() {
  const approvals = useApprovals({ status: ["pending"] });
  return (
    <div className="page">
      <div className="page-head">
        <h1>Approvals</h1>
      </div>
      <p className="muted">
        Brackets of strategies whose approval is required wait here, unsent, until you approve
        or reject them, or until they expire before the next bar.
      </p>
      <QueryState
        query={approvals}
        errorTitle="Could not load the approvals"
        isEmpty={(page) => page.results.length === 0}
        empty="No order is waiting for approval."
      >
        {(page) => (
          <div className="approvals">
            {page.results.map((a) => (
              <ApprovalCard key={a.id} id={a.id} />
            ))}
          </div>
        )}
      </QueryState>
    </div>
  );
}

function ApprovalCard({ id }: { id: number }) {
  const approval = useApproval(id);
  return (
    <section className="card" data-testid={`approval-${id}`}>
      <QueryState query={approval} errorTitle={`Could not load approval #${id}`}>
        {(a) => <ApprovalBody approval={a} />}
      </QueryState>
    </section>
  );
}

function ApprovalBody({ approval: a }: { approval: ApprovalDetail }) {
  const lineage = a.lineage;
  const chart = lineage.artifacts.find((x) => x.kind === "chart_png");
  const prompt = lineage.artifacts.find((x) => x.kind === "prompt");
  const answer = lineage.artifacts.find((x) => x.kind === "raw_answer");
  return (
    <>
      <h2>
        {a.side} {formatNumber(a.requested_quantity)} {a.symbol} —{" "}
        <Link to={`/strategies/${a.strategy}`}>{a.strategy_name}</Link>
      </h2>
      <p>
        From <Link to={`/runs/${a.run}`}>run #{a.run}</Link>; waits because {a.why}; expires{" "}
        {formatDateTime(a.expires_at)}.
      </p>
      <div className="approval-lineage">
        {chart && <img src={chart.url} alt={`Chart of run #${a.run}`} className="chart" />}
        <dl className="facts">
          {(
            [
              ["Action", lineage.action ?? "—"],
              ["Entry", formatNumber(lineage.entry)],
              ["Stop loss", formatNumber(lineage.stop_loss)],
              ["Take profit", formatNumber(lineage.take_profit)],
              ["Confidence", formatNumber(lineage.confidence)],
              ["Reward/risk", formatNumber(lineage.reward_risk)],
              ["Size", formatNumber(lineage.quantity)],
              ["Risk", formatMoney(lineage.risk)],
              ["Reward", formatMoney(lineage.reward)],
            ] as const
          ).map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
        <p>
          {prompt && <a href={prompt.url}>Prompt</a>}
          {prompt && answer && " · "}
          {answer && <a href={answer.url}>Answer</a>}
        </p>
        {lineage.reasoning && <blockquote>{lineage.reasoning}</blockquote>}
        <ul className="checks" aria-label="Checks">
          {lineage.checks.map((c, i) => (
            <li key={i}>
              {c.passed ? "✓" : "✗"} {String(c.name)}: {String(c.detail ?? "")}
            </li>
          ))}
        </ul>
      </div>
      <Decide approval={a} />
    </>
  );
}

function Decide({ approval: a }: { approval: ApprovalDetail }) {
  const [quantity, setQuantity] = useState(a.requested_quantity);
  const [reason, setReason] = useState("");
  const approve = useApproveApproval();
  const reject = useRejectApproval();
  const busy = approve.isPending || reject.isPending;
  const requested = Number(a.requested_quantity);
  const asked = Number(quantity);
  const quantityOk = Number.isInteger(asked) && asked >= 1 && asked <= requested;
  return (
    <div className="decide">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          approve.mutate({ id: a.id, quantity: asked < requested ? String(asked) : undefined });
        }}
      >
        <label>
          Quantity (at most {formatNumber(a.requested_quantity)})
          <input
            type="number"
            min={1}
            max={requested}
            step={1}
            value={quantity}
            onChange={(e) => setQuantity(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy || !quantityOk}>
          {approve.isPending ? "Approving…" : "Approve"}
        </button>
      </form>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          reject.mutate({ id: a.id, reason });
        }}
      >
        <label>
          Reason
          <input value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <button type="submit" className="danger" disabled={busy || reason.trim() === ""}>
          {reject.isPending ? "Rejecting…" : "Reject"}
        </button>
      </form>
      {approve.isError && <ErrorState error={approve.error} title="Could not approve" />}
      {reject.isError && <ErrorState error={reject.error} title="Could not reject" />}
    </div>
  );
}
