"""Celery entry points for analysis: the daily prompt performance scores."""

from celery import shared_task
from django.utils import timezone

from apps.analysis.performance import prompt_performance_compute


@shared_task(name="apps.analysis.tasks.prompt_performance")
def prompt_performance() -> int:
    """Store a PromptScore per template version with signals (beat: daily 05:30 UTC); returns
    how many were stored."""
    return len(prompt_performance_compute(now=timezone.now()))
