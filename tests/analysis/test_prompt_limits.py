"""Prompt render limits (issue 12, "Bounds"): template bombs fail fast with a PromptRenderError
naming the limit, instead of holding a worker or its memory."""

import time
from typing import Any

import pytest

from apps.analysis.prompts import PromptRenderError, render_prompt

NESTED_RANGES = (
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}done"
)
NESTED_SMALL_RANGES = (
    "{% for i in range(5000) %}{% for j in range(5000) %}{% endfor %}{% endfor %}done"
)
NESTED_STRING_LOOPS = (
    "{% set s = 'x' * 50000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}done"
)
NAMESPACE_DOUBLING = (
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s | length }}"
)
MACRO_DOUBLING = (
    "{% macro grow(s, n) %}{{ grow(s ~ s, n - 1) if n else s|length }}{% endmacro %}"
    "{{ grow('x', 60) }}"
)

BOMBS = {
    "nested range(100000)": (NESTED_RANGES, "PROMPT_RENDER_MAX_ITERATIONS"),
    "nested ranges under the range cap": (NESTED_SMALL_RANGES, "PROMPT_RENDER_MAX_ITERATIONS"),
    "nested loops over a string": (NESTED_STRING_LOOPS, "PROMPT_RENDER_MAX_ITERATIONS"),
    "string repetition": ("{{ ('x' * 10**8) | length }}", "PROMPT_RENDER_MAX_CHARS"),
    "list repetition": ("{{ ([0] * 10**8) | length }}", "PROMPT_RENDER_MAX_CHARS"),
    "namespace doubling": (NAMESPACE_DOUBLING, "PROMPT_RENDER_MAX_CHARS"),
    "macro doubling": (MACRO_DOUBLING, "PROMPT_RENDER_MAX_CHARS"),
    "huge output": (
        "{% for i in range(9000) %}{{ 'y' * 99 }}{% endfor %}",
        "PROMPT_RENDER_MAX_CHARS",
    ),
    "center filter": ("{{ 'x' | center(10**9) | length }}", "PROMPT_RENDER_MAX_CHARS"),
    "str.ljust": ("{{ 'x'.ljust(10**9) | length }}", "PROMPT_RENDER_MAX_CHARS"),
    "str.format width": ("{{ '{:>999999999}'.format(1) | length }}", "PROMPT_RENDER_MAX_CHARS"),
    "percent width": ("{{ ('%999999999d' % 1) | length }}", "PROMPT_RENDER_MAX_CHARS"),
    "format filter width": ("{{ '%999999999d' | format(1) | length }}", "PROMPT_RENDER_MAX_CHARS"),
}


@pytest.mark.parametrize("body,limit", BOMBS.values(), ids=BOMBS.keys())
def test_a_template_bomb_fails_fast_naming_the_limit(body: str, limit: str) -> None:
    started = time.monotonic()
    with pytest.raises(PromptRenderError, match=limit):
        render_prompt(body, {})
    assert time.monotonic() - started < 1.0


def test_a_big_power_fails_fast() -> None:
    started = time.monotonic()
    with pytest.raises(PromptRenderError, match="too large"):
        render_prompt("{{ (10 ** 100000000) > 1 }}", {})
    assert time.monotonic() - started < 1.0


def test_ordinary_templates_within_the_limits_render() -> None:
    body = (
        "{% for row in bars %}{{ row.close }} {% endfor %}|{{ '%.2f' | format(price) }}"
        "|{{ '{:,}'.format(volume) }}|{{ ('-' * 10) }}|{% for i in range(3) %}{{ i }}{% endfor %}"
    )
    context = {"bars": [{"close": 1.5}, {"close": 2.5}], "price": 101.234, "volume": 12345678}
    assert render_prompt(body, context) == "1.5 2.5 |101.23|12,345,678|----------|012"


def test_the_limits_are_settings(settings: Any) -> None:
    settings.PROMPT_RENDER_MAX_ITERATIONS = 5
    settings.PROMPT_RENDER_MAX_CHARS = 10
    with pytest.raises(PromptRenderError, match="more than 5 iterations"):
        render_prompt("{% for x in items %}{% endfor %}", {"items": list(range(6))})
    with pytest.raises(PromptRenderError, match="PROMPT_RENDER_MAX_CHARS"):
        render_prompt("{{ text }}", {"text": "y" * 11})
    assert render_prompt("{% for x in items %}{{ x }}{% endfor %}", {"items": [1, 2, 3, 4, 5]}) == (
        "12345"
    )
