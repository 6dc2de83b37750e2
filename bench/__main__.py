"""`python -m bench`: seed if needed, measure, print the table, write JSON and docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.run import BASE_DIR, DEFAULT_DATABASE_URL


def _create_database_if_missing(url: str) -> None:
    """A fresh machine has a PostgreSQL server but no benchmark database yet."""
    import dj_database_url
    import psycopg2
    from psycopg2 import sql

    config = dj_database_url.parse(url)
    params = {"host": config["HOST"] or None, "port": config["PORT"] or None, "user": config["USER"] or None}
    params["password"] = config["PASSWORD"] or None
    try:
        psycopg2.connect(dbname=config["NAME"], **params).close()
    except psycopg2.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        conn = psycopg2.connect(dbname="postgres", **params)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
        conn.close()
        print(f"[bench] created database {config['NAME']}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sizes = parser.add_argument_group("dataset (passed to seed_scale)")
    sizes.add_argument("--seed", type=int, default=42)
    for name, default in (
        ("accounts", 100_000),
        ("contacts", 1_000_000),
        ("leads", 200_000),
        ("opportunities", 100_000),
        ("contracts", 60_000),
        ("activities", 2_000_000),
        ("memberships", 200_000),
    ):
        sizes.add_argument(f"--{name}", type=int, default=default)
    cores = max(2, os.cpu_count() or 2)
    parser.add_argument("--requests", type=int, default=120, help="requests per operation (all rounds)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=cores, help="concurrent client threads (default: cores)")
    parser.add_argument("--workers", type=int, default=cores, help="gunicorn sync workers (default: cores)")
    parser.add_argument("--time-cap", type=float, default=45.0, help="seconds per operation, at most")
    parser.add_argument("--only", help="regular expression: measure only matching operations")
    parser.add_argument("--json", type=Path, default=BASE_DIR / "var" / "bench" / "results.json")
    parser.add_argument("--markdown", type=Path, default=BASE_DIR / "docs" / "benchmarks.md")
    parser.add_argument("--no-markdown", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--strict", action="store_true", help="exit 1 when an operation misses its target")
    parser.add_argument(
        "--rerender",
        action="store_true",
        help="measure nothing: rewrite --markdown from the --json of the last run with the current bench/NOTES.md",
    )
    args = parser.parse_args(argv)
    if args.rerender:
        from bench.run import rerender

        rerender(args.json, args.markdown)
        return 0

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        print(
            "make bench needs PostgreSQL: it measures PostgreSQL's limits and refuses SQLite. "
            f"Set DATABASE_URL=postgres://... (default {DEFAULT_DATABASE_URL}); got {os.environ['DATABASE_URL']!r}.",
            file=sys.stderr,
        )
        return 2
    _create_database_if_missing(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    from bench.run import run

    call_command("migrate", verbosity=0)
    report = run(
        sizes={
            k: getattr(args, k)
            for k in ("accounts", "contacts", "leads", "opportunities", "contracts", "activities", "memberships")
        },
        seed=args.seed,
        requests=args.requests,
        rounds=args.rounds,
        clients=args.clients,
        workers=args.workers,
        time_cap=args.time_cap,
        json_out=args.json,
        markdown_out=None if args.no_markdown or args.only else args.markdown,
        only=args.only,
    )
    missed = [r for r in report["results"] if r["passed"] is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
