import { useEffect, useRef, useState } from "react";

export interface Figure {
  data?: unknown[];
  layout?: Record<string, unknown>;
}

/**
 * A Plotly figure (`{data, layout}` as stored by the charts step). plotly.js-finance-dist-min
 * (scatter, bar, candlestick) is imported on demand: a separate chunk loaded only for a chart.
 */
export default function PlotlyFigure({ figure }: { figure: Figure }) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    const el = ref.current;
    if (!el) return;
    let purge: (() => void) | undefined;
    import("plotly.js-finance-dist-min")
      .then((mod) => {
        const Plotly = (mod as unknown as { default?: typeof mod }).default ?? mod;
        if (cancelled) return;
        const layout = {
          ...(figure.layout ?? {}),
          autosize: true,
          width: undefined,
          margin: { l: 40, r: 16, t: 40, b: 32 },
        };
        void Plotly.react(
          el,
          (figure.data ?? []) as Plotly.Data[],
          layout as Partial<Plotly.Layout>,
          { responsive: true, displaylogo: false },
        );
        purge = () => Plotly.purge(el);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    return () => {
      cancelled = true;
      purge?.();
    };
  }, [figure]);

  if (error) return <p className="state state-error">Chart could not be drawn: {error}</p>;
  return <div ref={ref} className="plotly-figure" data-testid="plotly-figure" />;
}
