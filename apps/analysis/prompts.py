"""Prompt rendering: Jinja2 in a bounded sandbox, strict about undefined names.

A template sees only the documented context (see ``build_prompt_context``): no settings, no
environment, no Python internals. Unsafe attribute access raises SecurityError in the sandbox,
and with StrictUndefined an unknown name fails instead of rendering as empty text.

Templates are written by users of a shared server, so every render is bounded (issue 12,
"Bounds"; openspec/specs/analysis/spec.md, "Prompt templates are bounded"):

- ``PROMPT_RENDER_MAX_ITERATIONS``: the iterations of all for-loops of one render together, and
  the length of any ``range()`` (Jinja's own ``safe_range`` allows 100,000 per call, nested
  without limit);
- ``PROMPT_RENDER_MAX_CHARS``: the rendered text, and any one string or list the template builds
  (``*``, ``+``, ``**``, ``%``, filters, method and macro calls, ``namespace`` attributes), so
  ``'x' * 10**8`` fails before it is allocated;
- ``PROMPT_TEMPLATE_MAX_CHARS``: the saved body (``prompt_template_body_check``).

Each limit fails with a PromptRenderError (or a body ValidationError) naming the setting.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from apps.common.errors import SibylError


class PromptRenderError(SibylError):
    """The template has a syntax error, names an undefined variable, reaches for internals or
    passes one of the render limits (the message names the setting)."""


def prompt_template_body_check(body: str) -> None:
    """Raise ValueError when ``body`` (a template's text) is longer than
    ``PROMPT_TEMPLATE_MAX_CHARS`` characters; the message states the limit and the length."""
    limit = settings.PROMPT_TEMPLATE_MAX_CHARS
    if len(body) > limit:
        raise ValueError(
            f"template body is {len(body):,} characters; the limit is {limit:,}"
            " (PROMPT_TEMPLATE_MAX_CHARS)"
        )


@dataclass
class _RenderBudget:
    max_iterations: int
    max_chars: int
    iterations: int = 0


_budget: ContextVar[_RenderBudget] = ContextVar("prompt_render_budget")


def _current_budget() -> _RenderBudget:
    budget = _budget.get(None)
    if budget is None:  # only render_prompt reaches the environment; never render unbounded
        raise PromptRenderError("prompt rendered outside render_prompt")
    return budget


def _too_long(what: str, size: int) -> PromptRenderError:
    limit = _current_budget().max_chars
    return PromptRenderError(
        f"{what} would be {size:,} characters or items; the limit is {limit:,}"
        " (PROMPT_RENDER_MAX_CHARS)"
    )


def _check_size(value: Any, what: str) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > _current_budget().max_chars:
        raise _too_long(what, len(value))
    return value


def _count_iterations(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every for-loop's iterable goes through here (see _BoundedCodeGenerator)."""
    budget = _current_budget()
    for item in iterable:
        budget.iterations += 1
        if budget.iterations > budget.max_iterations:
            raise PromptRenderError(
                f"the template's loops ran more than {budget.max_iterations:,} iterations"
                " (PROMPT_RENDER_MAX_ITERATIONS)"
            )
        yield item


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    limit = _current_budget().max_iterations
    if len(numbers) > limit:
        raise PromptRenderError(
            f"range() of {len(numbers):,} numbers; the limit is {limit:,}"
            " (PROMPT_RENDER_MAX_ITERATIONS)"
        )
    return numbers


# A width or precision in a format string (``%9999999s``, ``{:>9999999}``) pads the result to
# that size before any check of the result could run, so the numbers are checked first.
_FORMAT_NUMBERS = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d+))?|\{[^{}]*?:[^{}]*?(\d+)(?:\.(\d+))?")


def _check_format(format_string: Any) -> None:
    if not isinstance(format_string, str):
        return
    for match in _FORMAT_NUMBERS.finditer(format_string):
        for number in match.groups():
            if number and int(number) > _current_budget().max_chars:
                raise _too_long("a format width", int(number))


class _BoundedNamespace(Namespace):
    """``namespace()`` whose attributes obey the size limit (``{% set ns.s = ns.s ~ ns.s %}``
    in a loop would otherwise double a string past any memory)."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, _check_size(value, f"namespace attribute {name!r}"))


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles every ``{% for %}`` so its iterable passes through ``_count_iterations``."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        # Rewritten before code generation starts: the imports of ImportedName nodes are
        # collected from the whole tree at its top.
        for loop in node.find_all(nodes.For):
            counter = nodes.ImportedName(f"{__name__}._count_iterations")
            loop.iter = nodes.Call(counter, [loop.iter], [], None, None, lineno=loop.lineno)
        super().visit_Template(node, frame)


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)  # keeps jinja_pass_arg (pass_context / pass_environment)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if name == "format" and args:
            _check_format(next((a for a in args if isinstance(a, str)), None))
        if name in _WIDTH_FILTERS:
            for value in (*args[1:], *kwargs.values()):
                if isinstance(value, int) and value > _current_budget().max_chars:
                    raise _too_long(f"the {name} filter's width", value)
        return _check_size(function(*args, **kwargs), f"the {name} filter's result")

    return bounded


_WIDTH_FILTERS = frozenset({"center", "indent", "wordwrap"})
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the render limits: operators, calls and filters checked, loops counted."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        self.globals["namespace"] = _BoundedNamespace
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        """``*`` / ``+`` are checked before they build a string or list; ``**`` before a huge
        number; ``%`` formatting before its widths pad."""
        sequences = (str, list, tuple)
        if operator_ == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, sequences) and isinstance(count, int):
                    _check_size_estimate(len(sequence) * max(count, 0), "a repetition")
        elif operator_ == "+" and isinstance(left, sequences) and isinstance(right, sequences):
            _check_size_estimate(len(left) + len(right), "a concatenation")
        elif operator_ == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right > 0 and left.bit_length() * right > 65_536:
                raise PromptRenderError(f"{left} ** {right} is too large a number (65,536 bits)")
        elif operator_ == "%" and isinstance(left, str):
            _check_format(left)
        result = self.binop_table[operator_](left, right)
        return _check_size(result, f"the result of {operator_!r}")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call's arguments and result obey the size limit (macros recursing on doubled
        strings, ``'x'.ljust(10**9)``, ``'{:>9999999}'.format(1)``)."""
        for value in (*args, *kwargs.values()):
            _check_size(value, "a call argument")
        # str.format reaches here wrapped by the sandbox (wrap_str_format), hence __wrapped__.
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(owner, str):
            _check_format(owner)
            if __obj.__name__ in _WIDTH_METHODS:
                for value in (*args, *kwargs.values()):
                    if isinstance(value, int) and value > _current_budget().max_chars:
                        raise _too_long(f"{__obj.__name__}()'s width", value)
        result = super().call(__context, __obj, *args, **kwargs)
        return _check_size(result, "a call's result")


def _check_size_estimate(size: int, what: str) -> None:
    if size > _current_budget().max_chars:
        raise _too_long(what, size)


_environment = _BoundedEnvironment(
    undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
)


def render_prompt(body: str, context: dict[str, Any]) -> str:
    """Render a template ``body`` with ``context`` within the render limits (module docstring).

    Returns the rendered text (at most ``PROMPT_RENDER_MAX_CHARS`` characters). Raises
    PromptRenderError on any failure, a passed limit included (the message names its setting).
    """
    budget = _RenderBudget(
        max_iterations=settings.PROMPT_RENDER_MAX_ITERATIONS,
        max_chars=settings.PROMPT_RENDER_MAX_CHARS,
    )
    token = _budget.set(budget)
    try:
        parts: list[str] = []
        size = 0
        # Streamed so that the output limit stops the render instead of measuring it after.
        for part in _environment.from_string(body).generate(context):
            size += len(part)
            if size > budget.max_chars:
                raise PromptRenderError(
                    f"the rendered prompt is longer than {budget.max_chars:,} characters"
                    " (PROMPT_RENDER_MAX_CHARS)"
                )
            parts.append(part)
        return "".join(parts)
    except PromptRenderError:
        raise
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as error:
        # A template can fail in ordinary Python ways too (1/0, bad index, int too long to print).
        raise PromptRenderError(f"{type(error).__name__}: {error}") from error
    finally:
        _budget.reset(token)
