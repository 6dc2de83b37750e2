"""The benchmark harness: real pages through gunicorn on loopback, each against its own SQL.

For every operation it

1. renders the page once in-process to capture the exact SQL the view runs;
2. fires requests from several concurrent client threads at a gunicorn serving the bench
   settings, recording the client's wall time and the server's own time (``Server-Timing``);
3. replays the captured SQL directly with psycopg2, the same number of times at the same
   concurrency: the baseline, i.e. what the database alone needs to answer the page.

The figure is the server time; ratio = figure p50 / baseline p50 says how much the
application adds on top of the database's own limit. Pass/fail compares the server p95 with
the target.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clientele_bench"


@dataclass
class Operation:
    name: str
    path: str
    target_ms: float | None
    as_user: str = "rep"  # "rep" or "ops" (superuser, for the admin)
    note: str = ""
    htmx: bool = False  # sent as htmx would (HX-Request), e.g. "load more"


@dataclass
class Result:
    name: str
    path: str
    target_ms: float | None
    status: str = "ok"  # ok | unavailable | error
    note: str = ""
    requests: int = 0
    errors: int = 0
    queries: int = 0
    p50: float | None = None  # server time (Server-Timing), ms
    p95: float | None = None
    p25: float | None = None
    p75: float | None = None
    p95_rounds: list[float] = field(default_factory=list)
    wall_p50: float | None = None  # client wall time on loopback, ms
    wall_p95: float | None = None
    baseline_p50: float | None = None  # the same SQL via psycopg2, ms
    baseline_p95: float | None = None
    ratio: float | None = None
    passed: bool | None = None
    unit: str = "ms"  # what p50/p95/baseline/target are in: "ms" for pages, e.g. "invitations/s" for suites


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _log(message: str) -> None:
    print(message, flush=True)


# --- Load generation -------------------------------------------------------------------------


def _fire(count: int, clients: int, time_cap: float, one: Any) -> list[Any]:
    """Call ``one()`` ``count`` times from ``clients`` threads; stop early at ``time_cap`` seconds."""
    results: list[Any] = []
    lock = threading.Lock()
    remaining = [count]
    deadline = time.monotonic() + time_cap
    state = threading.local()

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] <= 0 or time.monotonic() > deadline:
                    return
                remaining[0] -= 1
            sample = one(state)
            with lock:
                results.append(sample)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


_SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")


def _http_get(port: int, path: str, cookie: str, *, htmx: bool = False) -> tuple[int, float, float | None, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie, "Host": "localhost"}
    if htmx:
        headers["HX-Request"] = "true"
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        wall = (time.perf_counter() - started) * 1000
        timing = _SERVER_TIMING.search(response.getheader("Server-Timing") or "")
        return response.status, wall, float(timing.group(1)) if timing else None, body
    finally:
        conn.close()


# --- The server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, *, database_url: str, workers: int, port: int | None = None) -> None:
        self.port = port or _free_port()
        from django.conf import settings

        # The same database and secret as this process, which signs the session cookies.
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.bench",
            "DATABASE_URL": database_url,
            "SECRET_KEY": settings.SECRET_KEY,
        }
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=BASE_DIR,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                if _http_get(self.port, "/healthz", "")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not become ready within 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- Operations --------------------------------------------------------------------------------


def _deep_cursor(sort, position: int) -> str | None:
    """A 'next' cursor that starts the page at ``position`` in the sort order (as if paged there)."""
    from core.listing import _encode, _order
    from crm.models import Contact

    row = Contact.objects.order_by(*_order(sort, forward=True)).values(sort.field, "pk")[position : position + 1]
    row = list(row)
    if not row:
        return None
    return _encode({"d": "n", "v": row[0][sort.field], "id": row[0]["pk"]})


def build_operations(contacts: int) -> tuple[list[Operation], dict[str, Any]]:
    from django.db.models import Count
    from django.urls import reverse

    from crm.management.commands.seed_scale import BIG_ACCOUNT_NAME
    from crm.models import Account, Contact
    from crm.views import CONTACT_LIST

    url = reverse("crm:contact_list")
    middle = max(contacts // 2, 0)
    ops: list[Operation] = [Operation("contacts: first page", url, 100)]
    for sort in CONTACT_LIST.sorts:
        query = f"sort={sort.key}&" if sort is not CONTACT_LIST.sorts[0] else ""
        if query:
            ops.append(Operation(f"contacts: sort {sort.key}, first page", f"{url}?{query.rstrip('&')}", 100))
        cursor = _deep_cursor(sort, middle)
        if cursor:
            ops.append(
                Operation(
                    f"contacts: sort {sort.key}, page {middle // 50 + 1:,} (row {middle:,})",
                    f"{url}?{query}cursor={cursor}",
                    100,
                )
            )
    owners = list(
        Contact.objects.values("owner").annotate(n=Count("id")).order_by("-n", "owner").values_list("owner", "n")
    )
    facts: dict[str, Any] = {}
    if owners:
        (busy, busy_n), (small, small_n) = owners[0], owners[-1]
        facts.update(busiest_owner_contacts=busy_n, smallest_owner_contacts=small_n)
        ops.append(Operation(f"contacts: owner filter, busiest rep ({busy_n:,})", f"{url}?owner={busy}", 100))
        ops.append(Operation(f"contacts: owner filter, small rep ({small_n:,})", f"{url}?owner={small}", 100))
        ops.append(
            Operation(f"contacts: owner busiest, sort -updated ({busy_n:,})", f"{url}?owner={busy}&sort=-updated", 100)
        )
    # Search: a common surname, a person's email, a company name.
    common = Contact.objects.values("last_name").annotate(n=Count("id")).order_by("-n", "last_name").first()
    sample = Contact.objects.exclude(email="").order_by("pk").values("email")[middle // 3 : middle // 3 + 1]
    if common:
        facts["search_name_matches"] = common["n"]
        ops.append(Operation(f"search: name '{common['last_name']}'", f"{url}?q={common['last_name']}", 100))
        # The target holds for every sort offered; the surname search is the one with most matches.
        for sort in CONTACT_LIST.sorts[1:]:
            ops.append(
                Operation(
                    f"search: name '{common['last_name']}', sort {sort.key}",
                    f"{url}?q={common['last_name']}&sort={sort.key}",
                    100,
                )
            )
    if sample:
        local = sample[0]["email"].split("@")[0]
        ops.append(Operation(f"search: email '{local}'", f"{url}?q={local}", 100))
    ops.append(Operation("search: company 'Globex'", f"{url}?q=Globex", 100))
    ops += __import__("bench.search", fromlist=["search_operations"]).search_operations()  # issue 15
    big = Account.objects.filter(name=BIG_ACCOUNT_NAME).order_by("pk").first()
    if big:
        facts.update(
            big_account_id=big.pk,
            big_account_contacts=big.contacts.count(),
            big_account_activities=big.activities.count(),
        )
        ops.append(Operation("account 360° page (big account)", reverse("crm:account_detail", args=[big.pk]), 150))
        ops.append(
            Operation(
                "account timeline: load more",
                reverse("crm:account_timeline", args=[big.pk]),
                150,
                note="needs_cursor",
                htmx=True,
            )
        )
    ops.append(Operation("admin: contacts changelist", reverse("admin:crm_contact_changelist"), 300, as_user="ops"))
    return ops, facts


def _login_cookie(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


_TIMELINE_MORE = re.compile(r"""(/accounts/\d+/timeline/\?[^"'\s<>]*cursor=[^"'\s<>]+)""")


_DECLARE = re.compile(r'^DECLARE "[^"]+" NO SCROLL CURSOR WITH(?:OUT)? HOLD FOR ', re.IGNORECASE)


def _capture_sql(path: str, user, *, htmx: bool = False) -> tuple[int, list[str], bytes]:
    """Render the page in-process once and return the SQL it ran, verbatim.

    Server-side cursors (``.iterator()``, e.g. a form's choices) become their plain SELECT.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="localhost", **({"HTTP_HX_REQUEST": "true"} if htmx else {}))
    client.force_login(user)
    client.get(path)  # warm caches (e.g. content types) so the capture is a steady-state request
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    sql = [_DECLARE.sub("", q["sql"]) for q in captured.captured_queries]
    return response.status_code, sql, response.content


def _baseline(statements: list[str], *, count: int, clients: int, time_cap: float) -> list[float]:
    import psycopg2
    from django.db import connection

    params = connection.get_connection_params()

    def one(state) -> float:
        if not hasattr(state, "conn"):
            state.conn = psycopg2.connect(**params)
            state.conn.autocommit = True
        started = time.perf_counter()
        with state.conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                if cursor.description is not None:
                    cursor.fetchall()
        return (time.perf_counter() - started) * 1000

    return _fire(count, clients, time_cap, one)


def measure(
    op: Operation,
    *,
    port: int,
    cookies: dict[str, str],
    users: dict[str, Any],
    requests: int,
    rounds: int,
    clients: int,
    time_cap: float,
) -> Result:
    result = Result(name=op.name, path=op.path, target_ms=op.target_ms, note=op.note)
    user = users[op.as_user]
    path = op.path
    if op.note == "needs_cursor":
        # "Load more" as the page offers it: follow the timeline link the 360° page renders.
        status, _sql, body = _capture_sql(path.replace("timeline/", ""), user)
        match = _TIMELINE_MORE.search(body.decode(errors="replace").replace("&amp;", "&")) if status == 200 else None
        if not match:
            result.status, result.note = "unavailable", "no 'load more' link on the 360° page yet"
            return result
        path = result.path = match.group(1)
        result.note = ""
    status, sql, _body = _capture_sql(path, user, htmx=op.htmx)
    if status != 200:
        result.status, result.note = (
            "unavailable",
            f"HTTP {status} (not implemented yet)" if status == 501 else f"HTTP {status}",
        )
        return result
    result.queries = len(sql)
    cookie = cookies[op.as_user]
    for _ in range(3):  # warm-up: worker imports, template caches, PostgreSQL buffers
        _http_get(port, path, cookie, htmx=op.htmx)

    samples: list[tuple[int, float, float | None]] = []
    per_round = max(1, requests // rounds)
    for _round in range(rounds):
        got = _fire(per_round, clients, time_cap / rounds, lambda _s: _http_get(port, path, cookie, htmx=op.htmx)[:3])
        server = [s for status_, _w, s in got if status_ == 200 and s is not None]
        if server:
            result.p95_rounds.append(round(percentile(server, 0.95), 2))
        samples.extend(got)
    ok = [(wall, server) for status_, wall, server in samples if status_ == 200]
    result.requests, result.errors = len(samples), len(samples) - len(ok)
    if not ok:
        result.status, result.note = "error", f"every request failed (HTTP {samples[0][0] if samples else '?'})"
        return result
    server = [s if s is not None else w for w, s in ok]
    wall = [w for w, _s in ok]
    # p95 is the median of the rounds' p95s: one round disturbed by another process on a small
    # machine moves the spread, not the figure.
    result.p50 = percentile(server, 0.5)
    result.p95 = statistics.median(result.p95_rounds) if result.p95_rounds else percentile(server, 0.95)
    result.p25, result.p75 = percentile(server, 0.25), percentile(server, 0.75)
    result.wall_p50, result.wall_p95 = percentile(wall, 0.5), percentile(wall, 0.95)
    base = _baseline(sql, count=len(samples), clients=clients, time_cap=time_cap)
    if base:
        result.baseline_p50, result.baseline_p95 = percentile(base, 0.5), percentile(base, 0.95)
        result.ratio = result.p50 / result.baseline_p50 if result.baseline_p50 else None
    if op.target_ms is not None:
        result.passed = result.p95 <= op.target_ms and result.errors == 0
    for name in ("p50", "p95", "p25", "p75", "wall_p50", "wall_p95", "baseline_p50", "baseline_p95", "ratio"):
        value = getattr(result, name)
        if value is not None:
            setattr(result, name, round(value, 2))
    return result


# --- Report ------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    from django.db import connection

    memory_kb = 0
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory_kb = int(line.split()[1])
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
        settings_ = {}
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "max_connections"):
            cursor.execute(f"SHOW {name}")
            settings_[name] = cursor.fetchone()[0]
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import django

    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": pg_version,
        "postgresql_settings": settings_,
    }


def dataset_info() -> dict[str, int]:
    from django.db import connection

    from crm.management.commands.seed_scale import TABLES

    counts = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
            counts[table.removeprefix("crm_")] = max(int(cursor.fetchone()[0]), 0)
    return counts


def _fmt(value: float | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:,.1f}{suffix}"


@dataclass
class SuiteContext:
    """What a benchmark suite gets: the database it runs on, the seeded users, and the run's knobs."""

    database_url: str
    users: dict[str, Any]
    cookies: dict[str, str]
    sizes: dict[str, int]
    only: str | None
    clients: int
    workers: int
    time_cap: float


# Benchmarks that are not page loads (batch invitations, decay jobs, the API list) live in a
# module of their own under bench/ with `measure(ctx: SuiteContext) -> list[Result]`; a
# Result's `unit` says what its figures are in. Add one line per suite here.
SUITES: list[str] = [
    "bench.api",
    "bench.customfields",
    "bench.decay",
    "bench.imports",
    "bench.decay_model",
    "bench.invitations",
    "bench.webhooks",
    "bench.reports",
    "bench.workflows",
    "bench.cases",
    "bench.territories",
]


def run_suites(ctx: SuiteContext) -> list[Result]:
    import importlib

    results: list[Result] = []
    for dotted in SUITES:
        _log(f"[bench] suite {dotted}")
        results.extend(importlib.import_module(dotted).measure(ctx))
    return results


def table_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for r in results:
        if r.status != "ok":
            rows.append(
                [r.name, "—", "—", "—", "—", "—", "—", _fmt(r.target_ms), r.status + (f": {r.note}" if r.note else "")]
            )
            continue
        spread = f"{min(r.p95_rounds):,.1f}–{max(r.p95_rounds):,.1f}" if r.p95_rounds else "—"
        u = "" if r.unit == "ms" else f" {r.unit}"
        verdict = "—" if r.passed is None else ("pass" if r.passed else "FAIL")
        rows.append(
            [
                r.name,
                _fmt(r.p50, u),
                _fmt(r.p95, u),
                spread,
                _fmt(r.wall_p95),
                _fmt(r.baseline_p50, u),
                "—" if r.ratio is None else f"{r.ratio:.1f}×",
                _fmt(r.target_ms, u),
                verdict,
            ]
        )
    return rows


HEADERS = [
    "operation",
    "p50 ms",
    "p95 ms",
    "p95 range (rounds) ms",
    "wall p95 ms",
    "baseline p50 ms",
    "ratio",
    "target p95 ms",
    "result",
]


def render_text(results: list[Result]) -> str:
    rows = [HEADERS, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(report: dict[str, Any], results: list[Result]) -> str:
    m, d, c = report["machine"], report["dataset"], report["config"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench`); do not edit by hand. How it works: "
        "[README → Benchmarks](../README.md#benchmarks).",
        "",
        f"- **Date:** {report['date']} · commit `{report.get('commit', '?')}`",
        f"- **Machine:** {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, {m['os']}",
        f"- **Software:** PostgreSQL {m['postgresql']} "
        f"({', '.join(f'{k}={v}' for k, v in m['postgresql_settings'].items())}), "
        f"Python {m['python']}, Django {m['django']}",
        "- **Dataset** (seed_scale, seed {seed}): {rows}".format(
            seed=c["seed"], rows=", ".join(f"{v:,} {k}" for k, v in d.items())
        ),
        f"- **Load:** gunicorn with {c['workers']} sync workers on loopback, {c['clients']} concurrent client "
        f"threads, {c['requests']} requests per operation in {c['rounds']} rounds (after 3 warm-up requests)",
        "",
        "**p50 / p95** are the server's own time per request (`Server-Timing`, the whole Django "
        "stack inside the gunicorn worker); p50 over all requests, p95 the median of the rounds' p95s, "
        "and **p95 range** their minimum–maximum (the spread); **wall p95** is what the client saw on "
        "loopback, queueing included. **Baseline** is the exact SQL the page runs (captured in-process), replayed with "
        "psycopg2 at the same concurrency and count; **ratio** = p50 / baseline p50, what the "
        "application adds on top of the database's own limit. **Result** compares p95 with the target.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(HEADERS) - 2) + ["---"]) + " |",
    ]
    for row in table_rows(results):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    lines.append("")
    lines.append("Per-round p95 (stability across rounds) and queries per page:")
    lines.append("")
    for r in results:
        if r.status == "ok":
            rounds = ", ".join(f"{v:,.1f}" for v in r.p95_rounds)
            lines.append(f"- {r.name}: p95 by round {rounds} ms; {r.queries} queries")
    if report.get("notes"):
        lines += ["", "## Notes", "", *report["notes"]]
    return "\n".join(lines) + "\n"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


NOTES_FILE = Path(__file__).with_name("NOTES.md")


def rerender(json_in: Path, markdown_out: Path) -> None:
    """Rewrite the Markdown report from a saved run's JSON with the current ``NOTES.md``.

    The notes discuss the figures, so they are written after the run; this publishes them
    without measuring again (and without touching a single figure).
    """
    report = json.loads(json_in.read_text())
    results = [Result(**r) for r in report["results"]]
    report["notes"] = NOTES_FILE.read_text().strip().splitlines() if NOTES_FILE.exists() else []
    markdown_out.write_text(render_markdown(report, results))
    json_in.write_text(json.dumps(report, indent=2) + "\n")
    _log(f"[bench] wrote {markdown_out} from {json_in}")


def run(
    *,
    sizes: dict[str, int],
    seed: int = 42,
    requests: int = 60,
    rounds: int = 3,
    clients: int = 2,
    workers: int = 2,
    time_cap: float = 45.0,
    json_out: Path | None = None,
    markdown_out: Path | None = None,
    only: str | None = None,
    stdout=None,
) -> dict[str, Any]:
    """Seed if needed, measure every operation, print the table; write JSON and Markdown if asked."""
    from django.core.management import call_command
    from django.db import connection

    from crm.management.commands.seed_scale import SEED_DOMAIN
    from iam.models import User

    if connection.vendor != "postgresql":
        raise SystemExit(
            "The benchmark runs against PostgreSQL only (it measures PostgreSQL's limits); "
            f"DATABASE_URL points at {connection.vendor}. Example: "
            f"DATABASE_URL={DEFAULT_DATABASE_URL} make bench"
        )
    started = time.monotonic()
    _log(f"[bench] seeding if needed ({', '.join(f'{k}={v:,}' for k, v in sizes.items())}, seed {seed})")
    call_command("seed_scale", seed=seed, stdout=stdout, **sizes)
    users = {
        "rep": User.objects.get(email=f"rep001@{SEED_DOMAIN}"),
        "ops": User.objects.get(email=f"ops@{SEED_DOMAIN}"),
    }
    cookies = {key: _login_cookie(user) for key, user in users.items()}
    _log("[bench] choosing operations (deep cursors, busiest/smallest owner, search terms)")
    ops, facts = build_operations(sizes.get("contacts", 0))
    if only:
        ops = [op for op in ops if re.search(only, op.name)]
    settings_db = connection.settings_dict
    # gunicorn must see the same database this process uses (pytest renames it test_<name>).
    password = f":{settings_db['PASSWORD']}" if settings_db.get("PASSWORD") else ""
    database_url = (
        f"postgres://{settings_db.get('USER') or ''}{password}"
        f"@{settings_db.get('HOST') or '127.0.0.1'}:{settings_db.get('PORT') or 5432}/{settings_db['NAME']}"
    )
    _log(f"[bench] starting gunicorn ({workers} workers)")
    server = Gunicorn(database_url=database_url, workers=workers)
    results: list[Result] = []
    try:
        for n, op in enumerate(ops, 1):
            t0 = time.monotonic()
            result = measure(
                op,
                port=server.port,
                cookies=cookies,
                users=users,
                requests=requests,
                rounds=rounds,
                clients=clients,
                time_cap=time_cap,
            )
            results.append(result)
            summary = (
                f"p50 {result.p50} ms, p95 {result.p95} ms, baseline p50 {result.baseline_p50} ms"
                if result.status == "ok"
                else f"{result.status}: {result.note}"
            )
            _log(f"[bench] {n}/{len(ops)} {op.name}: {summary} ({time.monotonic() - t0:.0f} s)")
    finally:
        server.stop()
    results.extend(
        run_suites(
            SuiteContext(
                database_url=database_url,
                users=users,
                cookies=cookies,
                sizes=sizes,
                only=only,
                clients=clients,
                workers=workers,
                time_cap=time_cap,
            )
        )
    )
    report = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git_commit(),
        "machine": machine_info(),
        "dataset": dataset_info(),
        "facts": facts,
        "config": {
            "seed": seed,
            "requests": requests,
            "rounds": rounds,
            "clients": clients,
            "workers": workers,
            "time_cap_s": time_cap,
            "figure": "server time from Server-Timing (ms)",
            "baseline": "the page's captured SQL replayed with psycopg2 (ms)",
        },
        "duration_s": round(time.monotonic() - started, 1),
        "results": [asdict(r) for r in results],
        "notes": NOTES_FILE.read_text().strip().splitlines() if NOTES_FILE.exists() else [],
    }
    text = render_text(results)
    print(text, flush=True)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2) + "\n")
        _log(f"[bench] wrote {json_out}")
    if markdown_out:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        markdown_out.write_text(render_markdown(report, results))
        _log(f"[bench] wrote {markdown_out}")
    failed = [r.name for r in results if r.passed is False]
    _log(f"[bench] done in {report['duration_s']:.0f} s; {len(failed)} operation(s) missed the target")
    report["table"] = text
    return report
