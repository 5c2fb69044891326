"""Prompt preview: render a template version against a run's data without asking any model."""

from apps.analysis.models import PromptTemplate
from apps.analysis.prompts import render_prompt
from apps.lineage.models import Run
from apps.marketdata.indicators import compute_indicators, latest_values, parse_indicator_specs
from apps.marketdata.providers import EmbeddedProvider
from apps.pipeline.prompting import prompt_context
from apps.pipeline.steps.data import MIN_BARS
from apps.strategies.models import Strategy


def prompt_preview(*, template: PromptTemplate, run: Run) -> str:
    """The text ``template`` renders to for ``run``, as the run's llm step would render it.

    Inputs: any template version (not necessarily the strategy's) and a run of any status; only
    the run's strategy and ``as_of`` are used. Like the data step, it loads up to ``lookback``
    bars closed by ``run.as_of`` from the embedded bar store (at least min(lookback, 50)); like
    the indicators step, it computes the strategy's indicators and keeps their latest values;
    the context is ``apps.pipeline.prompting.prompt_context`` and rendering is the sandboxed
    ``render_prompt``. No model, chart renderer, broker or network is involved; nothing is
    written.

    The strategy's *current* settings (lookback, indicators, risk limits) are used, and its
    position as of the run's as-of (``prompt_context``): when the settings changed since the
    run, the preview differs from the run's ``prompt`` artifact in those values.

    Output: the rendered prompt (str). Raises NotEnoughBarsError or BarValidationError (bars),
    IndicatorSpecError (the strategy's indicator spec) and PromptRenderError (syntax error,
    undefined name, access to internals — see apps/analysis/prompts.py).
    """
    strategy = Strategy.objects.select_related("symbol").get(pk=run.strategy_id)
    bars = EmbeddedProvider().get_bars(
        symbol=strategy.symbol,
        bar_size=strategy.bar_size,
        as_of=run.as_of,
        count=strategy.lookback,
        min_count=min(strategy.lookback, MIN_BARS),
    )
    results = compute_indicators(parse_indicator_specs(strategy.indicators), bars)
    context = prompt_context(
        strategy=strategy, as_of=run.as_of, bars=bars, indicators=latest_values(results)
    )
    return render_prompt(template.body, context)
