"""The Django project. Sibyl's Celery app is loaded with it, so every process that starts
Django (web, commands, workers) sends tasks through the Redis broker, never Celery's default.
https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html"""

from celery_app import app as celery_app

__all__ = ("celery_app",)
