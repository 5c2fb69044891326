"""The base of every error Sibyl raises on purpose; lineage records its class name and text,
and the REST API answers it with the HTTP status the error declares."""

from typing import Any


class SibylError(Exception):
    """A domain error with a message meant for the person reading lineage.

    ``http_status`` is the API's answer when a request meets it (400 unless a subclass says
    otherwise: 403 refused, 409 conflicts with the current state, 503 a peer is unavailable);
    ``apps.common.api.exception_handler`` is the one place that maps it.
    """

    http_status: int = 400

    def api_body(self) -> dict[str, Any]:
        """The API's error body: ``{"detail": <message>, "code": <class name>}``; subclasses
        add fields that help a client act on it."""
        return {"detail": str(self), "code": type(self).__name__}


class FieldProblemsError(SibylError):
    """Input breaks rules of named fields; ``problems`` maps field names to messages. The API
    answers 400 in DRF's field-error shape, ``{"<field>": ["<message>", …]}``."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(f"{field}: {' '.join(messages)}" for field, messages in problems.items())
        )

    def api_body(self) -> dict[str, Any]:
        """The field errors, as a serializer's validation would answer them."""
        return dict(self.problems)
