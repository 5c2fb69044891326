"""Reads of lineage's own records: artifacts for download.

The runs list and a run's whole lineage join the apps above lineage (signal, language-model
calls, orders): they are read in ``apps.composition.selectors``.
"""

from django.db.models import QuerySet

from apps.lineage.models import Artifact


def artifact_list() -> QuerySet[Artifact]:
    """Artifacts with their step (for the owner path ``step__run__strategy__owner``)."""
    return Artifact.objects.all()
