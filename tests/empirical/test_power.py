"""empirical/power.py: each sample size is checked against an independent computation, by
simulating the test it sizes (fixed seeds) or by the textbook tables, never by its own formula."""
from __future__ import annotations

import math

import numpy as np
import pytest

from empirical import power
from empirical.stats import fisher_greater, newcombe_difference, wilson

SIMS = 4000


def test_t_quantile_matches_the_tables():
    # Student's t, as printed in every statistics textbook
    for p, df, value in ((0.975, 10, 2.228), (0.975, 5, 2.571), (0.95, 20, 1.725), (0.975, 30, 2.042),
                         (0.9, 3, 1.638), (0.975, 3, 3.182)):
        assert abs(power.t_quantile(p, df) - value) < 5e-3, (p, df)
    assert abs(power.t_quantile(0.975, 10**6) - 1.95996) < 1e-4


def test_one_proportion_textbook_value_and_simulated_power():
    n = power.n_one_proportion(0.5, 0.6)            # one-sided 0.05, 80% power
    assert n == 153                                  # ((1.645 * 0.5 + 0.842 * sqrt(0.24)) / 0.1)^2 = 152.4
    rng = np.random.default_rng(1)
    crit = 1.6448536

    def rejects(p: float, size: int) -> float:
        x = rng.binomial(size, p, SIMS)
        return float(np.mean((x / size - 0.5) / math.sqrt(0.25 / size) > crit))
    assert abs(rejects(0.6, n) - 0.8) < 0.03          # the power it was sized for
    assert rejects(0.6, n // 2) < 0.6                  # half the sample: clearly less
    assert rejects(0.5, n) < 0.07                      # and the level holds


def test_two_proportions_for_fishers_test_by_simulation():
    n = power.n_two_proportions(0.8, 0.4, continuity=True)
    assert n > power.n_two_proportions(0.8, 0.4)       # the continuity correction asks for more
    rng = np.random.default_rng(2)
    a, b = rng.binomial(n, 0.8, 600), rng.binomial(n, 0.4, 600)
    simulated = np.mean([fisher_greater(int(x), n, int(y), n) < 0.05 for x, y in zip(a, b)])
    assert 0.74 < simulated < 0.9, simulated
    # the plain normal formula against the z-test it sizes
    m = power.n_two_proportions(0.75, 0.5)
    x, y = rng.binomial(m, 0.75, SIMS) / m, rng.binomial(m, 0.5, SIMS) / m
    pooled = (x + y) / 2
    z = (x - y) / np.sqrt(2 * pooled * (1 - pooled) / m)
    assert abs(np.mean(z > 1.6448536) - 0.8) < 0.035


def test_mean_and_two_means_by_simulated_t_tests():
    rng = np.random.default_rng(3)
    n = power.n_mean(0.2, 0.5, alpha=0.025)
    data = rng.normal(0.2, 0.5, (SIMS, n))
    t = data.mean(1) / (data.std(1, ddof=1) / math.sqrt(n))
    assert abs(np.mean(t > power.t_quantile(0.975, n - 1)) - 0.8) < 0.03
    k = power.n_two_means(0.1, 0.3, alpha=0.025)
    a, b = rng.normal(0.1, 0.3, (SIMS, k)), rng.normal(0.0, 0.3, (SIMS, k))
    se = np.sqrt((a.var(1, ddof=1) + b.var(1, ddof=1)) / k)
    assert abs(np.mean((a.mean(1) - b.mean(1)) / se > power.t_quantile(0.975, 2 * k - 2)) - 0.8) < 0.03


def test_slope_by_simulated_regressions():
    xs = np.log(np.repeat([256, 1024, 4096, 8192], 1))
    sd_x = float(xs.std())
    n = power.n_slope(0.5, 1.4, sd_x, alpha=0.025)
    design = np.resize(xs, n)                          # the lengths cycled, as the needle grid does
    rng = np.random.default_rng(4)
    hits = 0
    for _ in range(2000):
        y = 0.5 * design + rng.normal(0, 1.4, n)      # true slope 0.5, tested against 1
        c1, c0 = np.polyfit(design, y, 1)
        resid = y - c0 - c1 * design
        se = math.sqrt(resid @ resid / (n - 2) / ((design - design.mean()) ** 2).sum())
        hits += c1 + power.t_quantile(0.975, n - 2) * se < 1
    # a cycled design's x spread is close to, not exactly, sd_x: a little slack
    assert abs(hits / 2000 - 0.8) < 0.05


def test_equivalence_by_simulated_tost():
    n = power.n_equivalence(0.1, 0.3)
    rng = np.random.default_rng(5)
    data = rng.normal(0.0, 0.3, (SIMS, n))
    half = 1.6448536 * data.std(1, ddof=1) / math.sqrt(n)
    shown = (data.mean(1) + half < 0.1) & (data.mean(1) - half > -0.1)
    assert abs(np.mean(shown) - 0.8) < 0.04
    assert power.n_equivalence(0.1, 0.3, true_diff=0.12) == power.MAX_N   # outside the margin: never


def test_counting_rules():
    n = power.n_zero_failures(0.01)
    assert 0.99 ** n <= 0.05 < 0.99 ** (n - 1) and n == 299          # the rule of three: about 3 / 0.01
    k = power.n_any_event(0.05)
    assert 1 - 0.95 ** k >= 0.8 > 1 - 0.95 ** (k - 1)
    assert power.zero_failure_upper(299) <= 0.01
    assert power.se_scale(0.2, 10, 0.1) == 40
    assert power.n_for_se_test(0.5, 0.0, 0.25, 10) > 10              # 2 se now; 2 + 0.84 se at 80% power


def test_degenerate_effects_say_no_sample_decides():
    assert power.n_one_proportion(0.5, 0.5) == power.MAX_N
    assert power.n_two_proportions(0.3, 0.3) == power.MAX_N
    assert power.n_mean(0.0, 1.0) == power.MAX_N
    assert power.fmt_n(power.MAX_N) == "no finite sample"
    with pytest.raises(ValueError):
        power.n_mean(0.1, 1.0, sided=3)


def test_newcombe_interval_brackets_the_difference():
    d, lo, hi = newcombe_difference(20, 24, 8, 24)
    assert lo < d < hi and abs(d - 0.5) < 1e-12
    la, ua = wilson(20, 24)
    lb, ub = wilson(8, 24)
    assert la - ub < lo and hi < ua - lb                              # narrower than the box of the two
