"""The benchmark's PostgreSQL database: created when it does not exist yet, vacuumed between
benchmarks."""

import psycopg
from django.conf import settings
from django.db import connection


def ensure_database() -> None:
    """CREATE DATABASE for ``DATABASES['default']`` if absent (PostgreSQL only)."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        raise SystemExit("make bench runs on PostgreSQL: set DATABASE_URL=postgres://…")
    params = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as connection:  # type: ignore[arg-type]
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{db["NAME"]}"')


def vacuum() -> None:
    """``VACUUM ANALYZE`` the whole bench database, between benchmarks (never inside one's
    measure). A production server's autovacuum reclaims the rows each benchmark rewrites and
    refreshes the planner's statistics; with autovacuum off (as on the test machines) every
    benchmark would otherwise run on the growing dead rows of the ones before it."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
