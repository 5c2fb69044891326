"""The Celery application object; beat's schedule arrives with the scheduling work."""

from celery_app.app import app

__all__ = ["app"]
