"""Run every benchmark on the real stack and write one flat JSON object.

Output: ``var/bench/results.json`` (and stdout): metric name → number, the unit at the end of
the name (``_ms``, ``_s``, ``_per_s``, ``_mb``).
"""

import json
import os
import sys
from pathlib import Path

import django


def main() -> None:
    """Prepare the bench database, run each benchmark, merge and write the results."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bench import (
        api,
        backtest,
        burst,
        conflicts,
        ibkr_modify,
        ibkr_orders,
        metrics,
        pipeline,
        positions,
    )
    from bench.database import ensure_database, vacuum

    out = Path(settings.BASE_DIR) / "var" / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)  # benchmarks write their logs beside it
    ensure_database()
    call_command("migrate", verbosity=0)
    results: dict[str, float] = {}
    for module in (
        pipeline,
        burst,
        ibkr_orders,
        ibkr_modify,
        conflicts,
        api,
        positions,
        backtest,
        metrics,
    ):
        vacuum()  # each benchmark starts from the steady state autovacuum would keep
        results.update(module.run())
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    json.dump(results, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
