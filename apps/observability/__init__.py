"""Observability: the ``/metrics`` endpoint Prometheus scrapes.

It sits above every app (like ``apps.composition``: no app imports it, and it has no models,
so it is not in ``INSTALLED_APPS``). The instruments that apps increment live at the bottom,
in ``apps.common.metrics``; here are the exposition (``views``), its access policy
(``access``) and the gauges read from the database and Redis at scrape time
(``collectors``). See openspec/specs/operations/spec.md, "Metrics".
"""
