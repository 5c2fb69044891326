"""Charts rendered once per identical input; content-addressed artifacts shared by runs and
released by retention only when no run references them any more (issue 16, storage)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.lineage.models import Artifact, Run, Step
from apps.pipeline.cleanup import records_prune
from apps.pipeline.executor import strategy_run
from apps.pipeline.steps import charts as charts_step
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime(2012, 6, 1, tzinfo=UTC)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the real PNG exports of the charts step (one entry per render)."""
    real = charts_step.render_png
    counted: list[int] = []

    def counting(figure: dict[str, Any]) -> bytes:
        counted.append(1)
        return real(figure)

    monkeypatch.setattr(charts_step, "render_png", counting)
    return counted


def _chart(run: Run, kind: str) -> Artifact:
    return Artifact.objects.get(step__run=run, kind=kind)


def _charts_output(run: Run) -> dict[str, Any]:
    output: dict[str, Any] = Step.objects.get(run=run, name="charts").output
    return output


def test_identical_chart_inputs_render_once_and_share_one_file(
    goog: Symbol, renders: list[int]
) -> None:
    first = strategy_run(
        strategy=StrategyFactory.create(symbol=goog, lookback=300), as_of=AS_OF, trigger="manual"
    )
    second = strategy_run(
        strategy=StrategyFactory.create(symbol=goog, lookback=300), as_of=AS_OF, trigger="manual"
    )
    assert len(renders) == 1
    assert _charts_output(first)["render"] == "rendered"
    assert _charts_output(second)["render"] == "reused"
    for kind in ("chart_png", "chart_json"):
        a, b = _chart(first, kind), _chart(second, kind)
        assert a.pk != b.pk and a.sha256 and a.sha256 == b.sha256
        assert (
            a.file.name
            == b.file.name
            == f"artifacts/sha256/{a.sha256[:2]}/{a.sha256}"
            + (".png" if kind == "chart_png" else ".json")
        )
    png = _chart(second, "chart_png")
    with png.file.open("rb") as handle:
        assert handle.read()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.input_sha256 == _charts_output(second)["render_key"]

    other = strategy_run(
        strategy=StrategyFactory.create(symbol=goog, lookback=301), as_of=AS_OF, trigger="manual"
    )
    assert len(renders) == 2
    assert _charts_output(other)["render"] == "rendered"
    assert _chart(other, "chart_png").sha256 != png.sha256


def test_retention_keeps_a_shared_file_until_its_last_reference_is_gone(
    goog: Symbol, renders: list[int]
) -> None:
    first = strategy_run(
        strategy=StrategyFactory.create(symbol=goog), as_of=AS_OF, trigger="manual"
    )
    second = strategy_run(
        strategy=StrategyFactory.create(symbol=goog), as_of=AS_OF, trigger="manual"
    )
    png_name = str(_chart(first, "chart_png").file.name)
    assert png_name == _chart(second, "chart_png").file.name and len(renders) == 1
    # A file stored before content addressing (own name, no hash) belongs to its row alone.
    legacy = default_storage.save(
        f"artifacts/2026/12/01/run{first.pk}-chart.png", ContentFile(b"\x89PNG legacy")
    )
    Artifact.objects.create(
        step=Step.objects.get(run=first, name="charts"),
        kind="chart_png",
        file=legacy,
        content_type="image/png",
        size_bytes=12,
    )
    long_ago = timezone.now() - timedelta(days=120)
    Run.objects.filter(pk=first.pk).update(finished_at=long_ago)
    report = records_prune(now=timezone.now(), retention_days=90)
    assert report.runs == 1 and not Run.objects.filter(pk=first.pk).exists()
    assert default_storage.exists(png_name)
    # Every content-addressed file of the pruned run is still referenced by the kept one.
    assert report.files == 1 and not default_storage.exists(legacy)
    with _chart(second, "chart_png").file.open("rb") as handle:
        assert handle.read()[:4] == b"\x89PNG"

    kept = set(Artifact.objects.filter(step__run=second).values_list("file", flat=True))
    Run.objects.filter(pk=second.pk).update(finished_at=long_ago)
    report = records_prune(now=timezone.now(), retention_days=90)
    assert report.runs == 1 and report.files == len(kept)
    assert not any(default_storage.exists(name) for name in kept)

    # Gone from storage and from every row: the next identical input renders again.
    third = strategy_run(
        strategy=StrategyFactory.create(symbol=goog), as_of=AS_OF, trigger="manual"
    )
    assert _charts_output(third)["render"] == "rendered" and len(renders) == 2
    assert default_storage.exists(png_name)
