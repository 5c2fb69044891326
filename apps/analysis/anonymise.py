"""The leakage guard's anonymisation: what an anonymised evaluation run shows its model.

A model may have read about a past period (its training data), so a backtest can hide *which*
instrument and *when* (issue 16, "Leakage guard"; openspec/specs/analysis/spec.md):

- the ticker becomes ``ANONYMOUS_SYMBOL`` ("ASSET"); the company description and the exchange
  become blank / ``ANONYMOUS_EXCHANGE``; the currency stays (prices are in it);
- every time becomes an offset in bars: ``t-0`` is the as-of bar (the last bar the run sees,
  and the run's as-of itself), ``t-1`` the bar before it, … (``offset_label``);
- the rendered prompt is scrubbed once more (``prompt_scrub``) for what the trader's template
  text itself may name: the ticker (whole word, case-sensitive, tickers of 2+ characters), the
  company description (whole phrase, any case), ISO dates and times, dates written with
  month names ("March 5, 2012", "5 Mar 2012", "Mar 2012") or slashes ("03/05/2012"), and the
  years the run's bars span when they stand alone ("in 2012", not the price 2012.5);
- the chart is drawn without title and with bar offsets on the x axis
  (``apps.marketdata.charts.build_figure(anonymise=True)``).

The originals are kept only in the run's lineage: the llm step's output ``anonymised``
(``anonymised_record``), never in the prompt text or the chart JSON.
"""

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

ANONYMOUS_SYMBOL = "ASSET"
ANONYMOUS_EXCHANGE = "EXCHANGE"
DATE_TOKEN = "[date]"

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_MONTHS_SHORT = "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
_MONTH = rf"(?:{_MONTHS}|(?:{_MONTHS_SHORT})\.?)"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
# ISO 8601 dates, optionally with a time and offset; then dates written with a month name.
_DATE_PATTERNS = (
    re.compile(
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
    ),
    re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b"),  # 03/05/2012, 5/3/2012
)


def offset_label(offset: int) -> str:
    """``t-<offset>``: the bar ``offset`` bars before the as-of bar (``t-0``)."""
    return f"t-{offset}"


def bar_offsets(count: int) -> list[int]:
    """The offsets of ``count`` bars in time order: ``count-1`` … ``0`` (the as-of bar)."""
    return list(range(count - 1, -1, -1))


def anonymous_symbol(symbol: dict[str, Any]) -> dict[str, Any]:
    """The prompt's ``symbol`` dict (keys as in ``apps.analysis.context``) with the ticker,
    exchange and description replaced; sec_type and currency kept."""
    return symbol | {
        "symbol": ANONYMOUS_SYMBOL,
        "exchange": ANONYMOUS_EXCHANGE,
        "description": "",
    }


def prompt_scrub(text: str, *, symbol: str, description: str, years: Iterable[int] = ()) -> str:
    """``text`` with the names and dates a template's own wording may carry replaced (module
    docstring): ``symbol`` (2+ characters, whole word, case-sensitive) and ``description``
    (whole phrase, any case) by ``ANONYMOUS_SYMBOL``; dates, and each of ``years`` standing
    alone (not inside a number such as the price 2012.5 or 12,012), by ``DATE_TOKEN``."""
    names = []
    if description.strip():
        names.append(re.compile(rf"(?<!\w){re.escape(description.strip())}(?!\w)", re.IGNORECASE))
    if len(symbol) >= 2:
        names.append(re.compile(rf"(?<!\w){re.escape(symbol)}(?!\w)"))
    for pattern in names:
        text = pattern.sub(ANONYMOUS_SYMBOL, text)
    for pattern in _DATE_PATTERNS:
        text = pattern.sub(DATE_TOKEN, text)
    wanted = "|".join(str(year) for year in sorted(set(years)))
    if wanted:
        text = re.sub(rf"(?<!\w)(?<!\d[.,])(?:{wanted})(?!\w)(?![.,]\d)", DATE_TOKEN, text)
    return text


def anonymised_record(
    *, symbol: dict[str, Any], as_of: datetime, bar_times: Sequence[datetime]
) -> dict[str, Any]:
    """The lineage record of what anonymisation replaced (the llm step's output
    ``anonymised``): the original ``symbol`` dict, the token, the run's as-of and the bars'
    first and last open times (ISO 8601 UTC) with their offsets; bar ``t-k`` is the ``k``-th
    bar before the last one of the data step's ``bars`` artifact."""
    count = len(bar_times)
    return {
        "token": ANONYMOUS_SYMBOL,
        "symbol": symbol,
        "as_of": as_of.isoformat(),
        "bars": count,
        "offsets": (
            {
                offset_label(count - 1): bar_times[0].isoformat(),
                offset_label(0): bar_times[-1].isoformat(),
            }
            if count
            else {}
        ),
        "rule": "t-k is the k-th bar before the as-of bar t-0 (the last bar the run saw)",
    }
