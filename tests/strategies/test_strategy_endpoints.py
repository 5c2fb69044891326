"""Strategies files name an LLM endpoint (``llm.endpoint``) instead of a URL and a key variable."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from apps.strategies.models import Strategy
from apps.strategies.services import StrategiesFileError, strategies_apply
from tests.factories import LlmEndpointFactory, UserFactory

pytestmark = pytest.mark.django_db
DEMO_FILE = Path(settings.BASE_DIR) / "demo" / "strategies.yaml"
SLUG = "goog-daily-swing"


def _file(tmp_path: Path, **llm: Any) -> Path:
    document = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    document["strategies"] = [s for s in document["strategies"] if s["slug"] == SLUG]
    document["strategies"][0]["llm"] = {"analyst": "openai", **llm}
    path = tmp_path / "strategies.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "llm",
    [
        {"base_url": "http://attacker.example/v1", "api_key_env": "DATABASE_URL"},
        {"api_key_env": "SECRET_KEY"},
        {"base_url": "http://169.254.169.254/latest"},
    ],
)
def test_the_removed_keys_are_refused_saying_what_to_use(tmp_path: Path, llm: Any) -> None:
    with pytest.raises(StrategiesFileError) as refused:
        strategies_apply(path=_file(tmp_path, **llm))
    message = str(refused.value)
    assert "no longer exist" in message and "llm.endpoint: <name>" in message
    assert not Strategy.objects.exists()


def test_an_endpoint_is_resolved_among_the_operators_and_the_owners_own(tmp_path: Path) -> None:
    trader, other = UserFactory.create(), UserFactory.create()
    operator = LlmEndpointFactory.create(name="shared")
    LlmEndpointFactory.create(name="private", owner=other)
    own = LlmEndpointFactory.create(name="mine", owner=trader)
    strategies_apply(path=_file(tmp_path, endpoint="shared"))
    assert Strategy.objects.get(slug=SLUG).llm_endpoint == operator
    strategies_apply(path=_file(tmp_path, endpoint="mine"), owner=trader)
    assert Strategy.objects.get(slug=SLUG).llm_endpoint == own
    # another user's endpoint is unknown, as one that does not exist
    for name in ("private", "nowhere"):
        with pytest.raises(StrategiesFileError, match=f"unknown LLM endpoint '{name}'"):
            strategies_apply(path=_file(tmp_path, endpoint=name), owner=trader)
    # without --owner the strategy keeps its owner, and the owner's endpoints are looked up
    strategies_apply(path=_file(tmp_path, endpoint="mine"))
    assert Strategy.objects.get(slug=SLUG).llm_endpoint == own
    strategies_apply(path=_file(tmp_path, endpoint=""))
    assert Strategy.objects.get(slug=SLUG).llm_endpoint is None


def test_the_model_must_be_offered_by_the_endpoint(tmp_path: Path) -> None:
    LlmEndpointFactory.create(name="narrow", offered_models=["small"])
    with pytest.raises(StrategiesFileError, match="does not offer 'gpt-4o'"):
        strategies_apply(path=_file(tmp_path, endpoint="narrow", model="gpt-4o"))
    strategies_apply(path=_file(tmp_path, endpoint="narrow", model="small"))
    assert Strategy.objects.get(slug=SLUG).llm_model == "small"
