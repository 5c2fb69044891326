"""Shared helpers of the strategies tests: the demo strategies file and documents built from it,
and the admin change form of a strategy as a browser would post it."""

from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.strategies.models import Strategy

DEMO_FILE = Path(settings.BASE_DIR) / "demo" / "strategies.yaml"
GOOG_SLUG = "goog-daily-swing"

Document = dict[str, Any]


def write(tmp_path: Path, document: Document, name: str = "strategies.yaml") -> Path:
    """Write ``document`` as YAML to ``tmp_path / name``; returns that path."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def strategy_of(document: Document, slug: str) -> dict[str, Any]:
    """The strategy entry of ``document`` with ``slug`` (StopIteration if there is none)."""
    found: dict[str, Any] = next(s for s in document["strategies"] if s["slug"] == slug)
    return found


def change_form_data(client: Client, strategy: Strategy, **changes: Any) -> dict[str, Any]:
    """The admin change form of ``strategy`` as loaded by ``client``, with ``changes`` applied."""
    url = reverse("admin:strategies_strategy_change", args=[strategy.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "symbol": strategy.symbol_id,
            "prompt_template": strategy.prompt_template_id,
            "indicators": '[{"name": "RSI"}]',
            "owner": strategy.owner_id or "",
            **changes,
        }
    )
    return data
