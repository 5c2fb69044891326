"""Prompt preview: a template version rendered against a run's data, with no model call."""

import os
import socket
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.analysis.models import PromptTemplate
from apps.analysis.prompts import PromptRenderError
from apps.analysis.services import (
    PromptTemplateNotFoundError,
    prompt_template_resolve,
    prompt_template_save,
)
from apps.lineage.models import Run
from apps.lineage.services import run_create
from apps.pipeline.executor import strategy_run
from apps.pipeline.preview import prompt_preview
from apps.symbols.models import Symbol
from tests.factories import LlmEndpointFactory, PromptTemplateFactory, StrategyFactory
from tests.factories import decision_answer as decision

pytestmark = pytest.mark.django_db
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)  # last closed GOOG bar: 2012-05-31, close 580.86

# Reads every documented context key, so a difference anywhere would show.
FULL_TEMPLATE = """\
{{ symbol.symbol }} ({{ symbol.sec_type }} {{ symbol.exchange }} {{ symbol.currency }}) \
{{ bar_size }} as of {{ as_of }}
{{ bars.count }} bars {{ bars.first_ts }}..{{ bars.last_ts }} change {{ bars.change_pct }}%
{% for bar in bars.recent %}{{ bar.ts }} {{ bar.open }} {{ bar.high }} {{ bar.low }} \
{{ bar.close }} {{ bar.volume }}
{% endfor %}
{% for key, value in indicators | dictsort %}{{ key }}={{ value }}
{% endfor %}
position {{ position.quantity }} @ {{ position.average_cost }}
risk {{ risk | dictsort }}
{{ chart }}
"""


def pending_run(goog: Symbol, **strategy_fields: Any) -> Run:
    """A run that was never executed: the preview needs only its strategy and as-of time."""
    strategy = StrategyFactory.create(symbol=goog, **strategy_fields)
    return run_create(strategy_id=strategy.pk, as_of=AS_OF)


def prompt_artifact(run: Run) -> str:
    artifact = run.steps.get(name="llm").artifacts.get(kind="prompt")
    text: str = artifact.file.read().decode()
    return text


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any Python socket connection attempt is recorded and refused."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access during a prompt preview")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_preview_renders_what_the_llm_step_rendered(goog: Symbol, llm_server: Any) -> None:
    # given a run that asked a (loopback) model with the full template
    llm_server.answer_with(decision())
    template = prompt_template_save(owner=None, name="full", body=FULL_TEMPLATE)
    strategy = StrategyFactory.create(symbol=goog, analyst="openai", prompt_template=template)
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    assert run.status == "succeeded", run.error_message
    asked = len(llm_server.requests)
    # when the same version is previewed against the run
    text = prompt_preview(template=template, run=run)
    # then it is exactly the prompt the model was sent, and the model was not asked again
    assert text == prompt_artifact(run)
    assert "GOOG (STK SMART USD) 1 day as of 2012-06-01T00:00:00+00:00" in text
    assert "2012-05-31T00:00:00+00:00 588.72 590.0 579.0 580.86 2968300.0" in text
    assert len(llm_server.requests) == asked == 1


def test_preview_of_a_baseline_run_matches_its_prompt_artifact(goog: Symbol) -> None:
    run = strategy_run(strategy=StrategyFactory.create(symbol=goog), as_of=AS_OF, trigger="manual")
    template = PromptTemplate.objects.get(pk=run.strategy.prompt_template_id)
    assert prompt_preview(template=template, run=run) == prompt_artifact(run)


def test_preview_makes_no_network_request(
    goog: Symbol, settings: Any, no_network: list[object]
) -> None:
    # given an OpenAI-analyst strategy whose endpoint would be reachable only over the network
    settings.LLM_BASE_URL = "http://192.0.2.1:9/v1"  # TEST-NET-1: routes nowhere
    settings.LLM_API_KEY = "sk-should-not-be-used"
    run = pending_run(goog, analyst="openai")
    # when a template is previewed, then it renders without a single connection attempt
    text = prompt_preview(template=PromptTemplateFactory.create(body=FULL_TEMPLATE), run=run)
    assert text.startswith("GOOG (STK SMART USD) 1 day as of 2012-06-01")
    assert no_network == []
    # and the guard does catch a connection (so the empty list above means something)
    with pytest.raises(OSError, match="network access"):
        socket.create_connection(("192.0.2.1", 9), timeout=1)
    assert no_network == [("192.0.2.1", 9)]


def test_preview_renders_another_version_than_the_strategy_uses(goog: Symbol) -> None:
    run = pending_run(goog)
    other = PromptTemplateFactory.create(body="last {{ bars.last.close }} RSI {{ indicators.RSI }}")
    text = prompt_preview(template=other, run=run)
    assert text.startswith("last 580.86 RSI 38.29")


def test_preview_sees_no_bar_after_the_runs_as_of(goog: Symbol) -> None:
    run = pending_run(goog)
    text = prompt_preview(template=PromptTemplateFactory.create(body="{{ bars.last_ts }}"), run=run)
    assert text == "2012-05-31T00:00:00+00:00"


SECRET = "do-not-leak-7c1f"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("{{ settings }}", "'settings' is undefined"),
        ("{{ settings.SECRET_KEY }}", "'settings' is undefined"),
        ("{{ config }}", "'config' is undefined"),
        ("{{ os.environ }}", "'os' is undefined"),
        ("{{ environ['SIBYL_PREVIEW_SECRET'] }}", "'environ' is undefined"),
        ("{{ ''.__class__.__mro__ }}", "__class__"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__class__"),
        ("{{ cycler.__init__.__globals__ }}", "__init__"),
        ("{{ joiner.__init__.__globals__.os.environ }}", "__init__"),
        ("{{ lipsum.__globals__['os'].environ }}", "__globals__"),
        ("{{ namespace.__init__.__globals__ }}", "__init__"),
        ("{{ range.__self__ }}", "__self__"),
        ("{{ self._TemplateReference__context }}", "_TemplateReference__context"),
        ("{{ symbol.__class__ }}", "__class__"),
        ("{{ symbol | attr('__class__') }}", "__class__"),
        ("{{ '{0.__class__}'.format(symbol) }}", "__class__"),
        ("{{ indicators.update({'x': 1}) }}", "update"),
        ("{% for x in range(10 ** 9) %}{% endfor %}", "PROMPT_RENDER_MAX_ITERATIONS"),
        ("{{ bars.last.close", "unexpected end of template"),
    ],
)
def test_a_template_cannot_read_settings_environment_or_internals(
    goog: Symbol, monkeypatch: pytest.MonkeyPatch, body: str, text: str
) -> None:
    monkeypatch.setenv("SIBYL_PREVIEW_SECRET", SECRET)
    run = pending_run(goog)
    with pytest.raises(PromptRenderError, match=text) as raised:
        prompt_preview(template=PromptTemplateFactory.create(body=body), run=run)
    assert SECRET not in str(raised.value)
    assert settings.SECRET_KEY not in str(raised.value)


def test_every_context_value_is_plain_data_without_secrets(
    goog: Symbol, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # given secrets in the environment and in settings
    monkeypatch.setenv("SIBYL_PREVIEW_SECRET", SECRET)
    settings.LLM_API_KEY = SECRET
    endpoint = LlmEndpointFactory.create(api_key=SECRET)
    run = pending_run(goog, analyst="openai", llm_endpoint=endpoint)
    # when a template dumps everything it can see (its globals and its whole context)
    body = "{{ self }} {{ symbol }} {{ bars }} {{ indicators }} {{ position }} {{ risk }}"
    text = prompt_preview(template=PromptTemplateFactory.create(body=body), run=run)
    # then no secret is there and the context holds no objects, only JSON-like values
    assert SECRET not in text and settings.SECRET_KEY not in text
    assert " object at 0x" not in text
    assert SECRET in os.environ["SIBYL_PREVIEW_SECRET"]  # the secret was there to be found


def test_render_prompt_command_prints_the_named_version(goog: Symbol) -> None:
    run = pending_run(goog)
    prompt_template_save(owner=None, name="swing", body="v1 {{ bars.last.close }}")
    prompt_template_save(owner=None, name="swing", body="v2 {{ bars.last.close }}")
    out = StringIO()
    call_command("render_prompt", "swing", run=run.pk, stdout=out)
    assert out.getvalue() == "v2 580.86\n"
    out = StringIO()
    call_command("render_prompt", "swing@1", "--run", str(run.pk), stdout=out)
    assert out.getvalue() == "v1 580.86\n"


@pytest.mark.parametrize(
    ("reference", "run_id", "message"),
    [
        ("nope", None, "no prompt template named 'nope'"),
        ("swing@7", None, "prompt template 'swing' has no version 7 (versions: 1)"),
        ("swing@x", None, "expected NAME or NAME@VERSION"),
        ("swing", 999_999, "no run with id 999999"),
        ("broken", None, "PromptRenderError: UndefinedError: 'settings' is undefined"),
    ],
)
def test_render_prompt_command_explains_what_is_wrong(
    goog: Symbol, reference: str, run_id: int | None, message: str
) -> None:
    run = pending_run(goog)
    prompt_template_save(owner=None, name="swing", body="{{ symbol.symbol }}")
    prompt_template_save(owner=None, name="broken", body="{{ settings.SECRET_KEY }}")
    with pytest.raises(CommandError) as raised:
        call_command("render_prompt", reference, run=run_id or run.pk, stdout=StringIO())
    assert message in str(raised.value)


def test_render_prompt_command_reports_a_run_without_enough_bars(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog)
    run = run_create(strategy_id=strategy.pk, as_of=datetime(2004, 9, 1, tzinfo=UTC))
    with pytest.raises(CommandError, match=r"NotEnoughBarsError: .* at least 50 needed"):
        call_command("render_prompt", strategy.prompt_template.name, run=run.pk)


def test_template_references_resolve_to_versions() -> None:
    first = prompt_template_save(owner=None, name="swing", body="one")
    second = prompt_template_save(owner=None, name="swing", body="two")
    assert prompt_template_resolve(reference="swing", owner=None) == second
    assert prompt_template_resolve(reference="swing@1", owner=None) == first
    with pytest.raises(PromptTemplateNotFoundError, match="versions: 1, 2"):
        prompt_template_resolve(reference="swing@3", owner=None)
