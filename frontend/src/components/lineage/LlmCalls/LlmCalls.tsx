import type { LlmCall } from "../../../api/types";
import { formatDuration, formatUsd } from "../../../lib/format";
import { Empty } from "../../ui/QueryState/QueryState";

/** Each attempt of a call in one line: "1: 429 · 12 ms, 2: 200 · 1.2 s". */
function attemptsText(call: LlmCall): string {
  return call.attempt_log
    .map((a) => `${a.attempt}: ${a.status ?? a.error ?? "?"} · ${formatDuration(a.duration_ms)}`)
    .join(", ");
}

/** Why the model stopped; "length" means the answer was cut at max_tokens. */
function finishText(reason: string): string {
  if (reason === "length") return "cut at max_tokens";
  return reason || "—";
}

/** The run's language-model calls: model, tokens, latency (all attempts and waits), attempts
 * with each one's status and duration, why the model stopped, cost, error. */
export function LlmCalls({ calls }: { calls: readonly LlmCall[] }) {
  if (calls.length === 0) return <Empty>No language-model calls (baseline analyst or not reached).</Empty>;
  const totalCost = calls.reduce((sum, c) => sum + Number(c.cost_usd || 0), 0);
  const totalTokens = calls.reduce((sum, c) => sum + c.prompt_tokens + c.completion_tokens, 0);
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Model</th>
            <th>Format</th>
            <th className="num">Prompt tok.</th>
            <th className="num">Completion tok.</th>
            <th className="num">Latency</th>
            <th className="num">Attempts</th>
            <th>Finish</th>
            <th className="num">Cost</th>
            <th>Result</th>
          </tr>
        </thead>
        <tbody>
          {calls.map((c) => (
            <tr key={c.id}>
              <td data-label="Model">{c.model}</td>
              <td data-label="Format">{c.response_format}</td>
              <td data-label="Prompt tok." className="num">{c.prompt_tokens.toLocaleString()}</td>
              <td data-label="Completion tok." className="num">
                {c.completion_tokens.toLocaleString()}
              </td>
              <td data-label="Latency" className="num">{formatDuration(c.latency_ms)}</td>
              <td data-label="Attempts" className="num" title={attemptsText(c)}>
                {c.attempts}
                {c.attempt_log.length > 1 && <div className="muted small">{attemptsText(c)}</div>}
              </td>
              <td data-label="Finish">
                {c.finish_reason === "length" ? (
                  <span className="text-error">{finishText(c.finish_reason)}</span>
                ) : (
                  finishText(c.finish_reason)
                )}
              </td>
              <td data-label="Cost" className="num">{formatUsd(c.cost_usd)}</td>
              <td data-label="Result">
                {c.succeeded ? "ok" : <span className="text-error">{c.error || "failed"}</span>}
              </td>
            </tr>
          ))}
        </tbody>
        {calls.length > 1 && (
          <tfoot>
            <tr>
              <td colSpan={2}>Total</td>
              <td colSpan={2} className="num">{totalTokens.toLocaleString()} tokens</td>
              <td colSpan={3} />
              <td className="num">{formatUsd(totalCost)}</td>
              <td />
            </tr>
          </tfoot>
        )}
      </table>
    </div>
  );
}
