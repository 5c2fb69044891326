"""Output serializers of lineage's own records: steps and the artifacts they produced.

Times are UTC (ISO 8601), durations in milliseconds.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from apps.common.api_fields import choice_field
from apps.lineage.models import Artifact, Step, StepStatus


class ArtifactOutputSerializer(serializers.ModelSerializer[Artifact]):
    """A file a step produced; ``url`` downloads it (``GET /artifacts/{id}/``)."""

    url = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = ["id", "kind", "content_type", "size_bytes", "created_at", "url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, artifact: Artifact) -> str:
        """The API address of the file."""
        return reverse(
            "artifact-download", kwargs={"pk": artifact.pk}, request=self.context.get("request")
        )


class StepOutputSerializer(serializers.ModelSerializer[Step]):
    """One pipeline step: its JSON input and output, timing (``duration_ms``) and any error
    (``error_type`` is the exception class name), with its artifacts."""

    artifacts = ArtifactOutputSerializer(many=True, read_only=True)
    status = choice_field(StepStatus, "StepStatusEnum")
    input = serializers.JSONField(read_only=True)
    output = serializers.JSONField(read_only=True)

    class Meta:
        model = Step
        fields = [
            "id",
            "name",
            "sequence",
            "status",
            "started_at",
            "finished_at",
            "duration_ms",
            "input",
            "output",
            "error_type",
            "error_message",
            "artifacts",
        ]
        read_only_fields = fields
