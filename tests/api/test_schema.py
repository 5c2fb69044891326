"""The OpenAPI schema: it validates without warnings, and schemathesis finds no server error
(5xx) anywhere in the API and no answer the schema does not declare — every status code,
content type, header and body conforms — calling the real Django app in-process with a staff
token."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
import yaml
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.lineage.models import Artifact
from apps.pipeline.executor import strategy_run
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory, UserFactory

# Running a strategy enqueues a Celery task for a worker: fuzzing it would leave tasks for
# runs that vanish with the test's transaction. tests/api/test_strategies.py covers it.
NOT_FUZZED = "/api/v1/strategies/{id}/run/"


def test_schema_validates_without_warnings(tmp_path: Path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yml")


@pytest.fixture
def _keep_test_connection() -> Iterator[None]:
    # A plain WSGI handler closes the database connection around each request, which would
    # close the test's transaction; Django's own test client detaches the same handlers.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def fuzz_token(goog: Symbol, _keep_test_connection: None) -> str:
    """A staff user's token, with a real run (signal, orders, fills) to find."""
    staff = UserFactory.create(username="fuzzer", is_staff=True, is_superuser=True)
    strategy = StrategyFactory.create(symbol=goog, order_type="LMT", owner=staff)
    strategy_run(strategy=strategy, as_of=datetime(2012, 6, 1, tzinfo=UTC), trigger="manual")
    token, _ = Token.objects.get_or_create(user=staff)
    return token.key


def _api_schema() -> Any:
    """The schema drf-spectacular serves at /api/schema/, calling the app in-process."""
    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    schema.app = get_wsgi_application()
    return schema.exclude(path=NOT_FUZZED)


schema = _api_schema()


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_anywhere(case: Any, fuzz_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Token {fuzz_token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


def test_the_browser_apps_copy_of_the_schema_is_current(tmp_path: Path) -> None:
    # frontend/src/api/schema.d.ts is generated from frontend/openapi.yaml (npm run gen:api)
    current = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", current)
    shipped = Path(django_settings.BASE_DIR) / "frontend" / "openapi.yaml"
    assert yaml.safe_load(shipped.read_text()) == yaml.safe_load(current.read_text()), (
        "the API changed: run `manage.py spectacular --file frontend/openapi.yaml` and "
        "`npm run gen:api` in frontend/"
    )


def _property(schema: dict[str, Any], component: str, name: str) -> dict[str, Any]:
    """``component``'s property ``name`` in the generated schema, with ``#/components`` refs
    left to the validator (they resolve against the whole schema)."""
    return {**schema["components"]["schemas"][component]["properties"][name]}


def test_a_signal_without_a_side_matches_the_schema() -> None:
    """A flat or rejected signal has no position side: the API answers "" (model blank=True)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    side = _property(schema, "SignalOutput", "position_side")
    validator = jsonschema.Draft4Validator({**side, "components": schema["components"]})
    assert validator.is_valid("")
    assert validator.is_valid("LONG")
    assert not validator.is_valid("SIDEWAYS")


def test_an_unfinished_runs_duration_is_declared_nullable() -> None:
    """``duration_ms`` is null until the run has finished (list and detail rows)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for component in ("RunListOutput", "RunDetailOutput"):
        assert _property(schema, component, "duration_ms").get("nullable") is True, component


@pytest.mark.django_db
def test_every_artifact_download_has_a_documented_content_type(goog: Symbol) -> None:
    # The fuzzer above reaches an artifact only when it guesses an existing id; this walks all
    # of a real run's artifacts (chart PNG and JSON, prompt and answer text) instead.
    staff = UserFactory.create(is_staff=True)
    strategy = StrategyFactory.create(symbol=goog, owner=staff)
    strategy_run(strategy=strategy, as_of=datetime(2012, 6, 1, tzinfo=UTC), trigger="manual")
    api = SchemaGenerator().get_schema(request=None, public=True)
    documented = set(api["paths"]["/api/v1/artifacts/{id}/"]["get"]["responses"]["200"]["content"])
    client = APIClient()
    client.force_authenticate(staff)
    artifacts = list(Artifact.objects.filter(step__run__strategy=strategy))
    assert {a.content_type for a in artifacts} >= {"image/png", "application/json", "text/plain"}
    for artifact in artifacts:
        response = client.get(f"/api/v1/artifacts/{artifact.pk}/")
        assert response.status_code == 200
        assert response["Content-Type"].split(";")[0] in documented, artifact.kind
