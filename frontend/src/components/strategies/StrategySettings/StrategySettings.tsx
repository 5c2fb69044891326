import { Link } from "react-router";
import { usePromptTemplate } from "../../../api/prompts";
import { useSymbol } from "../../../api/symbols";
import type { Strategy } from "../../../api/types";
import { formatDateTime, formatNumber } from "../../../lib/format";
import { JsonViewer } from "../../lineage/JsonViewer/JsonViewer";

type Row = [label: string, value: React.ReactNode];

/** A strategy's configuration, read-only, grouped as in the strategies file. */
export function StrategySettings({ strategy: s }: { strategy: Strategy }) {
  const symbol = useSymbol(s.symbol);
  const template = usePromptTemplate(s.prompt_template);
  const groups: [string, Row[]][] = [
    [
      "Market",
      [
        [
          "Symbol",
          symbol.data
            ? `${s.symbol_code} (${symbol.data.exchange}, ${symbol.data.currency})`
            : s.symbol_code,
        ],
        ["Bar size", s.bar_size],
        ["Lookback", `${s.lookback} bars`],
      ],
    ],
    [
      "Schedule",
      [
        ["Active", s.is_active ? "yes" : "no"],
        ["Cron", <code key="c">{s.schedule_cron || "—"}</code>],
        ["Time zone", s.schedule_timezone],
        ["Catch up", s.catch_up],
        ["Skip closed market", s.skip_closed_market ? "yes" : "no"],
        ["Next run", formatDateTime(s.next_run_at)],
      ],
    ],
    [
      "Analyst",
      [
        ["Analyst", s.analyst],
        [
          "Prompt template",
          template.data ? (
            <Link key="t" to={`/prompts/${encodeURIComponent(template.data.name)}`}>
              {template.data.name} v{template.data.version}
            </Link>
          ) : template.isError ? (
            "(could not load)"
          ) : (
            "…"
          ),
        ],
        ["Model", s.llm_model || "—"],
        ["Fallback model", s.llm_fallback_model || "—"],
        ["Temperature", String(s.llm_temperature)],
        ["Max tokens", String(s.llm_max_tokens)],
        ["Response format", s.llm_response_format],
        ["Sends chart image", s.llm_accepts_images ? "yes" : "no"],
        ["LLM endpoint", s.llm_endpoint_name ?? "operator default (LLM_BASE_URL)"],
        ["Timeout", s.llm_timeout_s != null ? `${s.llm_timeout_s} s` : "(LLM_TIMEOUT_S)"],
      ],
    ],
    [
      "Risk and orders",
      [
        ["Capital", formatNumber(s.capital, 2)],
        ["Risk per trade", `${formatNumber(s.risk_per_trade_pct)} %`],
        ["Max position", formatNumber(s.max_position_quantity)],
        ["Max order notional", formatNumber(s.max_order_notional, 2)],
        ["Min confidence", formatNumber(s.min_confidence)],
        ["Min reward/risk", formatNumber(s.min_reward_risk)],
        ["Max entry deviation", `${formatNumber(s.max_entry_deviation_pct)} %`],
        ["Entry order", s.order_type],
        ["Time in force", s.time_in_force],
        ["Trading mode", s.trading_mode],
      ],
    ],
  ];
  return (
    <div className="settings">
      {groups.map(([title, rows]) => (
        <section key={title} className="card">
          <h3>{title}</h3>
          <dl className="kv">
            {rows.map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
      <section className="card">
        <h3>Indicators</h3>
        <JsonViewer value={s.indicators} expandDepth={2} />
      </section>
    </div>
  );
}
