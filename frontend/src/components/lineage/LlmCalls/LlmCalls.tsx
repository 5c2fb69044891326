import type { LlmCall } from "../../../api/types";
import { formatDuration, formatUsd } from "../../../lib/format";
import { Empty } from "../../ui/QueryState/QueryState";

/** The run's language-model calls: model, tokens, latency, attempts, cost, error. */
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
              <td data-label="Attempts" className="num">{c.attempts}</td>
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
              <td colSpan={2} />
              <td className="num">{formatUsd(totalCost)}</td>
              <td />
            </tr>
          </tfoot>
        )}
      </table>
    </div>
  );
}
