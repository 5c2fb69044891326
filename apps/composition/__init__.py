"""The API composition layer: read models that join what several apps recorded.

It sits above every app and may import any of them; no app imports it. It has no models (so
it is not a Django app in ``INSTALLED_APPS``): only selectors and API modules. Today it holds
the runs API, whose run detail is a run's whole lineage with its language-model calls
(analysis), its signal (signals) and its orders with their fills (orders).
"""
