"""Development and test tools that never ship in the production image (``.dockerignore``):
the TWS protocol simulator (``devtools.tws_simulator``, ``manage.py tws_simulator``), used by the
tests, ``make bench`` and manual trials with ib_async.

Settings install this app only when the package is present, so a production image without it
starts normally and has no ``tws_simulator`` command."""
