"""Prompt rendering: Jinja2 in a sandbox, strict about undefined names.

A template sees only the documented context (see ``build_prompt_context``): no settings, no
environment, no Python internals. Unsafe attribute access raises SecurityError in the sandbox,
and with StrictUndefined an unknown name fails instead of rendering as empty text.
"""

from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from apps.common.errors import SibylError

_environment = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
)


class PromptRenderError(SibylError):
    """The template has a syntax error, names an undefined variable or reaches for internals."""


def render_prompt(body: str, context: dict[str, Any]) -> str:
    """Render a template ``body`` with ``context``; raises PromptRenderError on any failure."""
    try:
        return _environment.from_string(body).render(context)
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as error:
        # A template can fail in ordinary Python ways too (range too big, 1/0, bad index).
        raise PromptRenderError(f"{type(error).__name__}: {error}") from error
