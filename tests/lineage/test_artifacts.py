"""Content-addressed artifacts: one file per hash, shared by rows, rewritten when cut short."""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from apps.lineage.services import artifact_store, run_create, run_start, step_record
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db


def test_identical_bytes_share_one_file_and_a_cut_short_file_is_rewritten() -> None:
    run = run_create(
        strategy_id=StrategyFactory.create().pk, as_of=datetime(2012, 6, 1, tzinfo=UTC)
    )
    assert run_start(run=run)
    content = b"the rendered prompt"
    digest = hashlib.sha256(content).hexdigest()
    with step_record(run=run, name="llm", sequence=1, step_input={}) as recorder:
        first = recorder.add_artifact(
            kind="prompt", filename="prompt.txt", content=content, content_type="text/plain"
        )
        second = recorder.add_artifact(
            kind="prompt", filename="prompt.txt", content=content, content_type="text/plain"
        )
    assert first.sha256 == second.sha256 == digest
    assert first.file.name == second.file.name == f"artifacts/sha256/{digest[:2]}/{digest}.txt"
    assert sorted(default_storage.listdir(f"artifacts/sha256/{digest[:2]}")[1]) == [f"{digest}.txt"]

    Path(default_storage.path(str(first.file.name))).write_bytes(content[:5])
    third = artifact_store(
        step=first.step, kind="prompt", filename="p.txt", content=content, content_type="text/plain"
    )
    assert third.file.name == first.file.name
    with default_storage.open(str(third.file.name), "rb") as handle:
        assert handle.read() == content
