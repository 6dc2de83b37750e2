"""The honest simulation: every loop modelled, deterministic for a seed."""

from __future__ import annotations

from dataclasses import replace

from bench.decay_model import RESPONSE_RATES, SOURCES, ModelParams, measure, simulate_year
from bench.run import SUITES, SuiteContext


def test_the_same_seed_gives_the_same_year_and_another_seed_another():
    first = simulate_year(contacts=3000, loops=True, seed=7)
    again = simulate_year(contacts=3000, loops=True, seed=7)
    other = simulate_year(contacts=3000, loops=True, seed=8)
    assert first.wrong_by_month == again.wrong_by_month
    assert (first.marked_left, first.fixed) == (again.marked_left, again.fixed)
    assert first.wrong_by_month != other.wrong_by_month


def test_loops_off_decays_like_compound_churn_and_loops_on_fix_data():
    off = simulate_year(contacts=20_000, loops=False, seed=1)
    on = simulate_year(contacts=20_000, loops=True, seed=1)
    assert len(off.wrong_by_month) == 12
    assert abs(off.year_end - (1 - 0.98**12)) < 0.01  # 2 % a month compounds to ~21.5 %
    assert on.year_end < off.year_end / 2
    assert on.marked_left > 0
    assert on.fixed > 0


def test_every_parameter_says_where_it_comes_from_and_every_rate_has_a_sensitivity():
    params = {name for name in ModelParams.__dataclass_fields__ if name != "contacts_per_account"}
    assert params == set(SOURCES)
    assert set(RESPONSE_RATES) <= params
    halved = ModelParams().halved("confirm")
    assert halved.confirm == ModelParams().confirm / 2


def test_the_suite_is_registered_and_reports_both_sizes(monkeypatch):
    assert "bench.decay_model" in SUITES
    monkeypatch.setenv("BENCH_DECAY_MODEL_SIZES", "2000,4000")
    ctx = SuiteContext(database_url="", users={}, cookies={}, sizes={}, only=None, clients=1, workers=1, time_cap=5)
    results = measure(ctx)
    names = [r.name for r in results]
    assert "decay model: 4,000 contacts, data wrong after 12 months, loops on" in names
    on = next(r for r in results if r.name.endswith("2,000 contacts, data wrong after 12 months, loops on"))
    assert on.unit == "% wrong"
    assert on.passed is (on.p50 <= 5.0)
    assert sum("halved" in n for n in names) == len(RESPONSE_RATES)


def test_the_queue_and_the_nomination_each_lower_the_year_end_and_nomination_raises_coverage():
    base = ModelParams()
    on = simulate_year(contacts=20_000, loops=True, seed=3, params=base)
    no_queue = simulate_year(contacts=20_000, loops=True, seed=3, params=replace(base, queue_size=0))
    no_nomination = simulate_year(contacts=20_000, loops=True, seed=3, params=replace(base, nominate=0.0))
    assert on.year_end < no_queue.year_end
    assert on.year_end < no_nomination.year_end
    assert on.queue_worked > 0
    assert no_queue.queue_worked == 0
    assert no_nomination.admin_share_end < on.admin_share_end
    # Nomination reaches only customers with someone to invite: coverage stays below that ceiling.
    ceiling = base.admin_share + (1 - base.admin_share) * base.nominable_share
    assert on.admin_share_end < ceiling + 0.02
