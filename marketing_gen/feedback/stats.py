"""Two-proportion statistics for A/B reports: Wilson intervals, z-test, Beta posterior, power and MDE.

Pure functions on counts (no database); scipy supplies the normal and beta functions.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import betaln, logsumexp
from scipy.stats import norm


def z_for(confidence: float) -> float:
    """Two-sided critical value, e.g. 1.96 for 0.95."""
    return float(norm.ppf(1 - (1 - confidence) / 2))


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (no continuity correction); (0, 1) when trials == 0."""
    if trials <= 0:
        return 0.0, 1.0
    z = z_for(confidence)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_ztest(k1: int, n1: int, k0: int, n0: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of variant (k1/n1) vs control (k0/n0): (z, two-sided p-value)."""
    if n1 <= 0 or n0 <= 0:
        return 0.0, 1.0
    pooled = (k1 + k0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    if se == 0:
        return 0.0, 1.0
    z = (k1 / n1 - k0 / n0) / se
    return z, float(2 * norm.sf(abs(z)))


def diff_interval(k1: int, n1: int, k0: int, n0: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wald (unpooled) interval for the difference of proportions p1 - p0."""
    if n1 <= 0 or n0 <= 0:
        return -1.0, 1.0
    p1, p0 = k1 / n1, k0 / n0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    z = z_for(confidence)
    return p1 - p0 - z * se, p1 - p0 + z * se


def prob_beat_control(k1: int, n1: int, k0: int, n0: int) -> float:
    """P(rate1 > rate0) under independent Beta(1 + k, 1 + n - k) posteriors (exact sum, uniform priors)."""
    a1, b1 = 1 + k1, 1 + max(n1 - k1, 0)
    a0, b0 = 1 + k0, 1 + max(n0 - k0, 0)
    i = np.arange(a1, dtype=float)
    terms = betaln(a0 + i, b0 + b1) - np.log(b1 + i) - betaln(1 + i, b1) - betaln(a0, b0)
    return float(min(1.0, max(0.0, math.exp(logsumexp(terms)))))


def minimum_detectable_effect(p0: float, n1: int, n0: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest absolute lift over p0 that a two-sided test at ``alpha`` detects with ``power`` at these sizes."""
    if n1 <= 0 or n0 <= 0:
        return math.inf
    p0 = min(max(p0, 0.0), 1.0)
    top = 1.0 - p0 - 1e-12
    if top <= 0 or power_at(p0 + top, n1, p0, n0, alpha) < power:
        return math.inf
    # power_at grows with the lift over (0, 1 - p0): solve power_at(p0 + d) = power for d.
    return float(brentq(lambda d: power_at(p0 + d, n1, p0, n0, alpha) - power, 1e-12, top, xtol=1e-10))


def power_at(p1: float, n1: int, p0: float, n0: int, alpha: float = 0.05) -> float:
    """Power of the two-sided test to detect the difference p1 - p0 at these sample sizes."""
    if n1 <= 0 or n0 <= 0:
        return 0.0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    if se == 0:
        return 0.0
    shift, z = abs(p1 - p0) / se, z_for(1 - alpha)
    return float(norm.cdf(shift - z) + norm.cdf(-shift - z))


def sample_size_per_arm(p1: float, p0: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Sends per variant needed to detect p1 vs p0 (two-sided, equal arms); None when p1 == p0."""
    if p1 == p0:
        return None
    pbar = (p1 + p0) / 2
    za, zb = z_for(1 - alpha), float(norm.ppf(power))
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p0 * (1 - p0))
    return math.ceil(num * num / (p1 - p0) ** 2)


def prob_best(counts: list[tuple[int, int]], *, draws: int = 20_000, seed: int = 0) -> list[float]:
    """P(each arm has the highest rate) under Beta(1 + k, 1 + n - k) posteriors (Monte Carlo, fixed seed).

    Thompson sampling sends the rest of the audience to each variant with these probabilities.
    """
    if not counts:
        return []
    rng = np.random.default_rng(seed)
    samples = np.stack([rng.beta(1 + k, 1 + max(n - k, 0), draws) for k, n in counts])
    wins = np.bincount(samples.argmax(axis=0), minlength=len(counts))
    return [float(w / draws) for w in wins]
