"""A year of contact data decay with every loop modelled, at any size: the honest simulation.

``bench/decay.py``'s simulated year runs the real jobs and services on 100,000 contacts (minutes
per run). This model runs the same year as a per-contact Monte Carlo with every loop the
product now has, so it reaches 1,000,000 contacts and a sensitivity analysis in seconds, and is
deterministic for a seed. Every parameter is stated below with where its value comes from;
where no published figure exists, it says "assumption" and the sensitivity table shows what
halving it does.

Per month, for each contact not yet known to have left:

1. **Churn**: with ``churn`` (2 %/month) the person changes jobs; ``internal_share`` of those
   moves stay at the company (the title goes wrong), the rest leave (the whole record goes wrong).
2. **Loops** (on): a portal user who left is removed by their org admin (``admin_removes``),
   which marks the contact left; a portal user whose title changed fixes it in their profile
   (``self_update``); each account with an org admin is reviewed once a quarter (in a month of
   its own) with probability ``review_completion``, and the admin gets each wrong person right
   with ``review_accuracy``; a contact who agreed to be contacted gets a campaign email with
   ``emailed``, and a leaver's email hard-bounces with ``bounce`` or draws an out-of-office
   reply saying so with ``ooo_says_left``; a stale contact (verified 12 months ago or more) who
   agreed is asked to reconfirm once per quarter and answers with ``confirm`` (still correct)
   or ``correct`` (corrects the details through the one-click link).
3. **Org-admin nomination** (on): each month the owner of a customer account without an org admin
   is prompted to nominate one (My work, Data health); a ``nominable_share`` of those accounts
   have someone to invite, the owner acts with ``nominate`` and the invitee accepts with
   ``admin_accepts``. From then on the account is reviewed like the others (its first review
   opens the next month: the hourly job opens one at once for an account with no recent review).
4. **Owner verification queue** (on): each rep's My work lists, every week, ``queue_size`` of
   their contacts that no automatic loop reaches (no portal access, no org admin at the account;
   a consent to email does not take a contact off it, since reconfirmation answers are rare),
   stalest first; the rep works ``queue_done`` of them (a call: still right, changed, left), and
   learns the truth with ``call_accuracy``. A rep owns ``contacts_per_rep`` contacts.

Wrong share = contacts whose CRM data is wrong (a leaver not yet marked left, or a changed title)
over all contacts, at the end of each month.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import asdict, dataclass, field, replace

# name: (value, source)
SOURCES: dict[str, str] = {
    "churn": "2 %/month: MarketingSherpa's B2B data decay of 2.1 %/month (22.5 %/year), the seeds' figure",
    "internal_share": "0.25: LinkedIn Global Talent Trends 2020 — about a fifth to a quarter of job moves are internal",
    "portal_share": "0.2: seed_scale's share of contacts with portal access",
    "consent_share": "0.6: seed_scale's share of contacts who agreed to be contacted",
    "admin_share": "0.4: assumption — share of contacts at customer accounts with an active org admin",
    "admin_removes": "0.5/month: assumption — an org admin removes a leaver's portal access within two months",
    "self_update": "0.3/month: assumption, the bench's BENCH_DECAY_SELF_UPDATE (portal users fixing their profile)",
    "review_completion": "0.7: assumption — identity-governance certification campaigns are mostly completed on time",
    "review_accuracy": "0.9: assumption — the admin knows who left or changed role",
    "emailed": "0.5/month: assumption — a consented contact gets a campaign email every other month",
    "bounce": "0.4: Mailchimp 2019 benchmarks: hard bounces 0.4 % per send; with 2 % churn ≈ 0.2–0.5 of leavers",
    "ooo_says_left": "0.1: assumption — an automatic reply of a closed mailbox says the person left",
    "rep_email": "0.03/month: seed_scale's 2,000,000 activities over 1,000,000 contacts and six years (an upper bound)",
    "nominable_share": "0.5: assumption — of the accounts without an org admin, customers with someone to invite",
    "nominate": "0.3/month: assumption — an owner acts on the 'nominate an org admin' prompt within about three months",
    "admin_accepts": "0.5: assumption — an invited org admin accepts (no published acceptance rate found)",
    "queue_size": "10/week: the product's default DECAY_VERIFICATION_QUEUE_SIZE (a setting, not a measurement)",
    "queue_done": "0.6: assumption — a rep works six in ten of the week's list (calls that reach someone)",
    "call_accuracy": "0.95: assumption — a call (the person, a colleague or the switchboard) tells the truth",
    "contacts_per_rep": (
        "1500: assumption — about 150 accounts of 10 contacts per rep "
        "(seed_scale's 50 reps own 20,000 each: a bench load, not a sales team)"
    ),
    "confirm": "0.08: assumption — marketing email clicks average 2.6 % (Mailchimp 2019); transactional ~3× that",
    "correct": "0.08: assumption — as confirm: one click, no account",
}

RESPONSE_RATES = (
    "admin_removes",
    "self_update",
    "review_completion",
    "emailed",
    "bounce",
    "confirm",
    "correct",
    "nominate",
    "admin_accepts",
    "queue_done",
)
SCENARIOS = {
    "org admins at a fifth of contacts' accounts (admin_share 0.2)": {"admin_share": 0.2},
    "reps owning twice as many contacts (contacts_per_rep 3000)": {"contacts_per_rep": 3000},
    "a shorter weekly list (queue_size 5)": {"queue_size": 5},
    "no nomination (the loops of before, plus the queue)": {"nominate": 0.0},
    "no queue (the loops of before, plus nomination)": {"queue_size": 0},
}


@dataclass(frozen=True)
class ModelParams:
    churn: float = 0.02
    internal_share: float = 0.25
    portal_share: float = 0.2
    consent_share: float = 0.6
    admin_share: float = 0.4
    admin_removes: float = 0.5
    self_update: float = 0.3
    review_completion: float = 0.7
    review_accuracy: float = 0.9
    emailed: float = 0.5
    bounce: float = 0.4
    ooo_says_left: float = 0.1
    rep_email: float = 0.03
    confirm: float = 0.08
    correct: float = 0.08
    nominable_share: float = 0.5
    nominate: float = 0.3
    admin_accepts: float = 0.5
    queue_size: int = 10
    queue_done: float = 0.6
    call_accuracy: float = 0.95
    contacts_per_rep: int = 1500
    contacts_per_account: int = 10

    def halved(self, name: str) -> ModelParams:
        return replace(self, **{name: getattr(self, name) / 2})


@dataclass
class YearResult:
    contacts: int
    loops: bool
    seed: int
    wrong_by_month: list[float] = field(default_factory=list)
    marked_left: int = 0
    fixed: int = 0
    nominated: int = 0
    queue_worked: int = 0
    admin_share_end: float = 0.0

    @property
    def year_end(self) -> float:
        return self.wrong_by_month[-1] if self.wrong_by_month else 0.0


# Per-contact state in parallel lists (a million small objects would be slower and larger).
OK, TITLE, LEFT, MARKED = 0, 1, 2, 3


def simulate_year(
    *, contacts: int, loops: bool, seed: int = 42, months: int = 12, params: ModelParams | None = None
) -> YearResult:
    p = params or ModelParams()
    rng = random.Random(seed)  # noqa: S311 (a simulation, deterministic for a seed)
    r = rng.random
    n = contacts
    portal = [r() < p.portal_share for _ in range(n)]
    consent = [r() < p.consent_share for _ in range(n)]
    accounts = max(1, n // p.contacts_per_account)
    account_of = [i % accounts for i in range(n)]
    has_admin = [r() < p.admin_share for _ in range(accounts)]
    review_month = [rng.randrange(3) for _ in range(accounts)]
    nominable = [not has_admin[a] and r() < p.nominable_share for a in range(accounts)]
    # Months since last verified at the start: spread over two years, as in seed_scale.
    age = [rng.randrange(24) for _ in range(n)]
    asked = [-99] * n
    state = [OK] * n
    reps = max(1, n // p.contacts_per_rep)
    listed_per_month = round(p.queue_size * 52 / 12)
    result = YearResult(contacts=n, loops=loops, seed=seed)
    for month in range(months):
        if loops:
            for a in range(accounts):
                if nominable[a] and not has_admin[a] and r() < p.nominate and r() < p.admin_accepts:
                    has_admin[a] = True
                    review_month[a] = (month + 1) % 3
                    result.nominated += 1
            if listed_per_month:
                _queue(p, r, reps, listed_per_month, portal, has_admin, account_of, age, state, result)
        reviewed = (
            [has_admin[a] and review_month[a] == month % 3 and r() < p.review_completion for a in range(accounts)]
            if loops
            else None
        )
        wrong = 0
        for i in range(n):
            s = state[i]
            if s == MARKED:
                continue
            age[i] += 1
            if s == OK and r() < p.churn:
                s = TITLE if r() < p.internal_share else LEFT
            if loops:
                s = _loops(i, s, month, p, r, portal, consent, reviewed, account_of, age, asked, result)
            state[i] = s
            if s in (TITLE, LEFT):
                wrong += 1
        result.wrong_by_month.append(wrong / n)
    contacts_at = [0] * accounts
    for a in account_of:
        contacts_at[a] += 1
    result.admin_share_end = sum(c for a, c in enumerate(contacts_at) if has_admin[a]) / n
    return result


STALE_FROM_MONTHS = 6  # the queue lists contacts no longer fresh (DECAY_FRESH_FROM: about 6 months at 2 %)


def _queue(p, r, reps, listed, portal, has_admin, account_of, age, state, result) -> None:
    """Each rep's weekly lists of the month: their unreached, no-longer-fresh contacts, stalest first."""
    by_rep: list[list[tuple[int, int]]] = [[] for _ in range(reps)]
    for i, s in enumerate(state):
        if s == MARKED or portal[i] or age[i] < STALE_FROM_MONTHS:
            continue
        a = account_of[i]
        if has_admin[a]:
            continue
        by_rep[a % reps].append((age[i], i))
    for candidates in by_rep:
        for _age, i in heapq.nlargest(listed, candidates):
            if r() >= p.queue_done:
                continue
            result.queue_worked += 1
            age[i] = 0
            if state[i] != OK and r() < p.call_accuracy:
                if state[i] == LEFT:
                    result.marked_left += 1
                    state[i] = MARKED
                else:
                    result.fixed += 1
                    state[i] = OK


def _loops(i, s, month, p, r, portal, consent, reviewed, account_of, age, asked, result) -> int:
    if s == LEFT:
        if portal[i] and r() < p.admin_removes:
            result.marked_left += 1
            return MARKED
        if reviewed[account_of[i]] and r() < p.review_accuracy:
            result.marked_left += 1
            return MARKED
        emailed = (consent[i] and r() < p.emailed) or r() < p.rep_email  # a rep's 1:1 email needs no consent
        if emailed and (r() < p.bounce or r() < p.ooo_says_left):
            result.marked_left += 1
            return MARKED
        if consent[i] and age[i] >= 12 and month - asked[i] >= 3:
            asked[i] = month
            if r() < p.bounce or r() < p.ooo_says_left:
                result.marked_left += 1
                return MARKED
        return LEFT
    if reviewed[account_of[i]]:
        age[i] = 0  # verified by the review (a missed change stays wrong, stamped as verified)
        if s == TITLE and r() < p.review_accuracy:
            result.fixed += 1
            return OK
        return s
    if s == TITLE and portal[i] and r() < p.self_update:
        result.fixed += 1
        age[i] = 0
        return OK
    if consent[i] and age[i] >= 12 and month - asked[i] >= 3:
        asked[i] = month
        if s == OK and r() < p.confirm:
            age[i] = 0
        elif s == TITLE and r() < p.correct:
            result.fixed += 1
            age[i] = 0
            return OK
    return s


def report(*, sizes: tuple[int, ...] = (100_000, 1_000_000), seed: int = 42, sensitivity_size: int = 100_000) -> dict:
    """Loops off vs on at each size, and the year end at ``sensitivity_size`` with each rate halved."""
    base = ModelParams()
    out: dict = {"params": asdict(base), "sources": SOURCES, "runs": [], "sensitivity": {}}
    for size in sizes:
        for loops in (False, True):
            year = simulate_year(contacts=size, loops=loops, seed=seed, params=base)
            if loops and size == sizes[0]:
                out["admin_share_end"] = year.admin_share_end
            out["runs"].append(
                {
                    "contacts": size,
                    "loops": loops,
                    "wrong_by_month": [round(100 * w, 2) for w in year.wrong_by_month],
                    "year_end": round(100 * year.year_end, 2),
                }
            )
    for name in RESPONSE_RATES:
        year = simulate_year(contacts=sensitivity_size, loops=True, seed=seed, params=base.halved(name))
        out["sensitivity"][name] = round(100 * year.year_end, 2)
    out["scenarios"] = {}
    for label, changes in SCENARIOS.items():
        year = simulate_year(contacts=sensitivity_size, loops=True, seed=seed, params=replace(base, **changes))
        out["scenarios"][label] = round(100 * year.year_end, 2)
    return out


TARGET_PERCENT = 5.0


def measure(ctx) -> list:
    """The bench suite: year-end wrong share loops off/on at 100,000 and 1,000,000, and sensitivity.

    ``BENCH_DECAY_MODEL_SIZES`` (``100000,1000000``) and ``BENCH_DECAY_MODEL_SEED`` (42).
    """
    import os
    import re

    from bench.run import Result, _log

    if ctx.only and not re.search(ctx.only, "decay_model"):
        return []
    sizes = tuple(int(s) for s in os.environ.get("BENCH_DECAY_MODEL_SIZES", "100000,1000000").split(","))
    seed = int(os.environ.get("BENCH_DECAY_MODEL_SEED", "42"))
    out = report(sizes=sizes, seed=seed, sensitivity_size=sizes[0])
    results = []

    def result(name: str, percent: float, note: str, target: float | None = None) -> Result:
        r = Result(name=name, path="", target_ms=target, note=note, unit="% wrong", requests=1)
        r.p50 = r.p95 = percent
        r.passed = None if target is None else percent <= target
        return r

    for run in out["runs"]:
        loops = "on" if run["loops"] else "off"
        months = " ".join(f"{w:.1f}" for w in run["wrong_by_month"])
        _log(f"[bench] decay model: {run['contacts']:,} contacts, loops {loops}: {months}")
        results.append(
            result(
                f"decay model: {run['contacts']:,} contacts, data wrong after 12 months, loops {loops}",
                run["year_end"],
                f"by month: {months} (seed {seed})",
                TARGET_PERCENT if run["loops"] else None,
            )
        )
    for name, percent in out["sensitivity"].items():
        results.append(result(f"decay model: loops on, {name} halved ({sizes[0]:,} contacts)", percent, SOURCES[name]))
    for label, percent in out["scenarios"].items():
        results.append(result(f"decay model: loops on, {label}", percent, "what it would take"))
    return results


def main() -> None:
    """``python -m bench.decay_model``: the report as a table, with no database (the model needs none)."""
    import os
    import time

    sizes = tuple(int(s) for s in os.environ.get("BENCH_DECAY_MODEL_SIZES", "100000,1000000").split(","))
    seed = int(os.environ.get("BENCH_DECAY_MODEL_SEED", "42"))
    started = time.monotonic()
    out = report(sizes=sizes, seed=seed, sensitivity_size=sizes[0])
    print(f"decay model, seed {seed}, target ≤ {TARGET_PERCENT} % wrong after 12 months with the loops on")
    for run in out["runs"]:
        months = " ".join(f"{w:.1f}" for w in run["wrong_by_month"])
        loops = "on " if run["loops"] else "off"
        print(f"  {run['contacts']:>9,} contacts, loops {loops}: {run['year_end']:5.2f} %   by month: {months}")
    print(f"  org admins' coverage of contacts at year end (loops on, {sizes[0]:,}): {out['admin_share_end']:.1%}")
    print(f"each response rate halved ({sizes[0]:,} contacts, loops on):")
    for name, percent in out["sensitivity"].items():
        flag = "" if percent <= TARGET_PERCENT else "  (misses the target)"
        print(f"  {name:<18} {percent:5.2f} %{flag}")
    print("scenarios:")
    for label, percent in out["scenarios"].items():
        print(f"  {label:<62} {percent:5.2f} %")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
