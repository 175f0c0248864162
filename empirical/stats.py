"""Small, dependency-free statistics for crosscheck verdicts: intervals and fits."""
from __future__ import annotations

import math
import random


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def linear_fit(xs: list[float], ys: list[float]) -> dict:
    """Least squares y = c0 + c1 x with the standard error of c1 (None with < 3 points)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("a fit needs at least two distinct x values")
    c1 = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    c0 = my - c1 * mx
    se = None
    if n > 2:
        residual = sum((y - c0 - c1 * x) ** 2 for x, y in zip(xs, ys))
        se = math.sqrt(residual / (n - 2) / sxx)
    return {"c0": c0, "c1": c1, "c1_se": se, "n": n}


def bootstrap_mean(values: list[float], seed: int = 0, rounds: int = 2000) -> tuple[float, float, float]:
    """Mean and a 95% percentile bootstrap interval."""
    if not values:
        return (float("nan"), float("nan"), float("nan"))
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choice(values) for _ in range(n)) / n for _ in range(rounds))
    return (sum(values) / n, means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1])


def fisher_greater(a_success: int, a_n: int, b_success: int, b_n: int) -> float:
    """One-sided Fisher exact p-value that group a's success rate exceeds group b's."""
    total_success, total = a_success + b_success, a_n + b_n

    def prob(k: int) -> float:  # hypergeometric: k of the successes fall in group a
        return math.comb(a_n, k) * math.comb(b_n, total_success - k) / math.comb(total, total_success)

    upper = min(a_n, total_success)
    return min(1.0, sum(prob(k) for k in range(a_success, upper + 1)))


def newcombe_difference(a_success: int, a_n: int, b_success: int, b_n: int,
                        z: float = 1.96) -> tuple[float, float, float]:
    """p_a - p_b with Newcombe's hybrid score interval (method 10 of Newcombe 1998), built from
    the two Wilson intervals."""
    if a_n == 0 or b_n == 0:
        return (float("nan"), -1.0, 1.0)
    pa, pb = a_success / a_n, b_success / b_n
    la, ua = wilson(a_success, a_n, z)
    lb, ub = wilson(b_success, b_n, z)
    d = pa - pb
    return (d, d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2), d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2))


def sd(values: list[float]) -> float:
    """Sample standard deviation (0 for fewer than two values)."""
    n = len(values)
    if n < 2:
        return 0.0
    m = sum(values) / n
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
