"""Sample sizes that decide: textbook power formulas for the tests the crosscheck verdicts use.

Each function answers "how many samples does this test need to reach its decision with
probability `power` when the true effect is the one given, at significance `alpha`?" with the
normal approximation of the usual textbooks (Fleiss, Levin and Paik 2003 for proportions;
Chow, Shao and Wang 2008 for means, slopes and equivalence), a Student-t correction where the
test uses an estimated standard deviation, and a continuity correction where the test is exact
(Fisher). No dependency beyond the standard library: quantiles come from
`statistics.NormalDist` and a Cornish-Fisher expansion for Student's t.

Defaults: 95% confidence (alpha = 0.05) and 80% power. `sided=1` is a one-sided test at level
alpha (a 95% interval's one-sided reading is alpha = 0.025: pass `alpha=0.025`), `sided=2` a
two-sided one.

`Requirement` is one verdict's power analysis as a probe's `plan()` states it: the statement,
the quantity, the test, the effect and why that effect, the samples needed and those the config
gives, in one unit (prompts, tasks, questions...), and how that unit maps to the config.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

ALPHA = 0.05
POWER = 0.8
_N = NormalDist()
MAX_N = 10**9          # "no finite sample decides this at that effect"


def z(p: float) -> float:
    """The standard normal quantile."""
    return _N.inv_cdf(p)


def _za(alpha: float, sided: int) -> float:
    if sided not in (1, 2):
        raise ValueError("sided is 1 or 2")
    if not 0 < alpha < 1:
        raise ValueError("alpha lies in (0, 1)")
    return z(1 - alpha / sided)


def _zb(power: float) -> float:
    if not 0 < power < 1:
        raise ValueError("power lies in (0, 1)")
    return z(power)


def _ceil(x: float) -> int:
    if not math.isfinite(x) or x > MAX_N:
        return MAX_N
    return max(1, math.ceil(x - 1e-9))


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile by the Cornish-Fisher expansion in 1/df (Abramowitz and Stegun
    26.7.5): within 0.005 of the exact value for df >= 3 and 1e-4 for df >= 10 at the usual levels."""
    if df <= 0:
        raise ValueError("df must be positive")
    x = z(p)
    g1 = (x ** 3 + x) / 4
    g2 = (5 * x ** 5 + 16 * x ** 3 + 3 * x) / 96
    g3 = (3 * x ** 7 + 19 * x ** 5 + 17 * x ** 3 - 15 * x) / 384
    g4 = (79 * x ** 9 + 776 * x ** 7 + 1482 * x ** 5 - 1920 * x ** 3 - 945 * x) / 92160
    return x + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4


def _t_iterate(base: float, alpha: float, power: float, sided: int, df_of, start: int) -> int:
    """Smallest n with n >= base * (t_a + t_b)^2 / (z_a + z_b)^2, the t-test's degrees of
    freedom df_of(n) (fixed-point iteration from the normal answer)."""
    za, zb = _za(alpha, sided), _zb(power)
    n = max(start, _ceil(base))
    if n >= MAX_N:
        return MAX_N
    for _ in range(50):
        df = max(1.0, df_of(n))
        ta, tb = t_quantile(1 - alpha / sided, df), t_quantile(power, df)
        nxt = max(start, _ceil(base * ((ta + tb) / (za + zb)) ** 2))
        if nxt == n:
            break
        n = nxt
    return n


# ---------------------------------------------------------------- proportions

def n_one_proportion(p0: float, p1: float, alpha: float = ALPHA, power: float = POWER, sided: int = 1) -> int:
    """Samples for a test of H0: p = p0 when the true rate is p1 (normal approximation):
    n = ((z_a sqrt(p0 q0) + z_b sqrt(p1 q1)) / (p1 - p0))^2."""
    if p0 == p1:
        return MAX_N
    num = _za(alpha, sided) * math.sqrt(p0 * (1 - p0)) + _zb(power) * math.sqrt(p1 * (1 - p1))
    return _ceil((num / (p1 - p0)) ** 2)


def n_two_proportions(p1: float, p2: float, alpha: float = ALPHA, power: float = POWER, sided: int = 1,
                      continuity: bool = False) -> int:
    """Per group, for a test that two rates differ when they are p1 and p2 (equal groups):
    n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 + p2 q2))^2 / (p1 - p2)^2; with `continuity`,
    Fleiss's correction n/4 (1 + sqrt(1 + 4 / (n |p1 - p2|)))^2, for Fisher's exact test."""
    if p1 == p2:
        return MAX_N
    d = abs(p1 - p2)
    pbar = (p1 + p2) / 2
    num = (_za(alpha, sided) * math.sqrt(2 * pbar * (1 - pbar))
           + _zb(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
    n = (num / d) ** 2
    if continuity:
        n = n / 4 * (1 + math.sqrt(1 + 4 / (n * d))) ** 2
    return _ceil(n)


def n_any_event(p: float, power: float = POWER) -> int:
    """Samples that show at least one event of probability p with probability `power`:
    1 - (1 - p)^n >= power."""
    if p <= 0:
        return MAX_N
    if p >= 1:
        return 1
    return _ceil(math.log(1 - power) / math.log(1 - p))


def n_zero_failures(p_max: float, alpha: float = ALPHA) -> int:
    """Cells that, all passing, put the failure rate below p_max at confidence 1 - alpha (the
    exact binomial bound behind the rule of three): (1 - p_max)^n <= alpha."""
    if p_max <= 0:
        return MAX_N
    return _ceil(math.log(alpha) / math.log(1 - p_max))


def zero_failure_upper(n: int, alpha: float = ALPHA) -> float:
    """One-sided exact (Clopper-Pearson) upper bound of a rate with no failure in n."""
    return 1.0 if n <= 0 else 1 - alpha ** (1 / n)


# ---------------------------------------------------------------- means and slopes

def n_mean(delta: float, sd: float, alpha: float = ALPHA, power: float = POWER, sided: int = 1,
           t: bool = True) -> int:
    """Samples for a one-sample (or paired) test of a mean against a threshold when it differs
    from it by delta and the data have standard deviation sd: n = ((z_a + z_b) sd / delta)^2,
    with the t-test's df = n - 1 unless `t` is False."""
    if delta == 0:
        return MAX_N
    if sd <= 0:
        return 2
    base = ((_za(alpha, sided) + _zb(power)) * sd / abs(delta)) ** 2
    if not t:
        return _ceil(base)
    return _t_iterate(base, alpha, power, sided, lambda n: n - 1, 2)


def n_two_means(delta: float, sd: float, alpha: float = ALPHA, power: float = POWER, sided: int = 1) -> int:
    """Per group, for two independent means differing by delta, common sd:
    n = 2 ((z_a + z_b) sd / delta)^2, t-corrected with df = 2n - 2."""
    if delta == 0:
        return MAX_N
    if sd <= 0:
        return 2
    base = 2 * ((_za(alpha, sided) + _zb(power)) * sd / abs(delta)) ** 2
    return _t_iterate(base, alpha, power, sided, lambda n: 2 * n - 2, 2)


def n_slope(delta: float, sd_resid: float, sd_x: float, alpha: float = ALPHA, power: float = POWER,
            sided: int = 1) -> int:
    """Points for the t-test of a least-squares slope c1 against a value it differs from by delta:
    se(c1) = sd_resid / (sd_x sqrt(n)) (sd_x the population sd of the design's x values), so
    n = ((z_a + z_b) sd_resid / (delta sd_x))^2, t-corrected with df = n - 2."""
    if delta == 0 or sd_x <= 0:
        return MAX_N
    if sd_resid <= 0:
        return 3
    base = ((_za(alpha, sided) + _zb(power)) * sd_resid / (abs(delta) * sd_x)) ** 2
    return _t_iterate(base, alpha, power, sided, lambda n: n - 2, 3)


def n_equivalence(margin: float, sd: float, true_diff: float = 0.0, alpha: float = ALPHA,
                  power: float = POWER) -> int:
    """Samples for two one-sided tests (TOST) that show |mean| < margin, data sd sd, true
    value true_diff: n = ((z_a + z_b') sd / (margin - |true_diff|))^2 with z_b' = z(1 - beta/2)
    when true_diff = 0 (both tests must pass) and z(1 - beta) otherwise (Chow et al. 3.2.4)."""
    gap = margin - abs(true_diff)
    if gap <= 0:
        return MAX_N
    zb = z(1 - (1 - power) / 2) if true_diff == 0 else _zb(power)
    base = ((_za(alpha, 1) + zb) * sd / gap) ** 2
    return _ceil(base)


def se_scale(se_now: float, n_now: int, se_wanted: float) -> int:
    """The sample size at which a standard error now se_now (at n_now) falls to se_wanted,
    se ~ 1/sqrt(n)."""
    if se_wanted <= 0:
        return MAX_N
    return _ceil(n_now * (se_now / se_wanted) ** 2)


def n_for_se_test(estimate: float, threshold: float, se_now: float, n_now: int, k: float = 2.0,
                  power: float = POWER) -> int:
    """The sample size at which `estimate` (taken as the true value) clears `threshold` by k
    standard errors with probability `power`, when its se is se_now at n_now and falls like
    1/sqrt(n): the observed-effect counterpart of n_mean for verdicts that read "k se"."""
    gap = abs(estimate - threshold)
    if gap == 0 or se_now is None or se_now <= 0:
        return MAX_N
    return se_scale(se_now, n_now, gap / (k + _zb(power)))


# ---------------------------------------------------------------- a verdict's power analysis

@dataclass(frozen=True)
class Requirement:
    theorem: str          # the statement id the verdict confronts
    quantity: str         # what is measured
    test: str             # the test and its level
    effect: str           # the effect the statement predicts or the smallest worth reporting, and why
    unit: str             # what one sample of `needed` is (prompts per length group, tasks, ...)
    needed: int           # samples (in `unit`) that decide at the effect: 95% confidence, 80% power
    planned: int          # what the config gives, in the same unit
    mapping: str          # how the unit maps to the config (e.g. "depths x repeats per length")
    label: str = ""       # tells apart two verdicts of one statement (M-1 over parameters and data)
    note: str = ""        # e.g. "not decidable by more samples: ..." or "exact, no sampling"
    gpu: bool = False     # sized for a GPU: the CPU cannot give `needed` within a few hours
    extra: dict = field(default_factory=dict)

    @property
    def met(self) -> bool:
        return self.planned >= self.needed

    def to_json(self) -> dict:
        return {"theorem": self.theorem, "label": self.label, "quantity": self.quantity, "test": self.test,
                "effect": self.effect, "unit": self.unit, "needed": self.needed, "planned": self.planned,
                "mapping": self.mapping, "met": self.met, "note": self.note, "gpu": self.gpu}


def fmt_n(n: int | None) -> str:
    if n is None:
        return "-"
    return "no finite sample" if n >= MAX_N else f"{n:,}"
