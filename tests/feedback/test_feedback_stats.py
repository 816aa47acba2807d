"""A/B statistics against scipy on known counts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, chi2_contingency, norm

from marketing_gen.feedback import stats

COUNTS = [(0, 50), (3, 100), (60, 2000), (120, 2000), (999, 1000), (1000, 1000), (7, 13)]


@pytest.mark.parametrize(("k", "n"), COUNTS)
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = stats.wilson_interval(k, n)
    assert low == pytest.approx(ci.low, abs=1e-12)
    assert high == pytest.approx(ci.high, abs=1e-12)


@pytest.mark.parametrize(("k1", "n1", "k0", "n0"), [(80, 2000, 60, 2000), (120, 2000, 60, 2000), (5, 90, 9, 110)])
def test_ztest_equals_uncorrected_chi_square_and_normal_tail(k1: int, n1: int, k0: int, n0: int) -> None:
    z, p = stats.two_proportion_ztest(k1, n1, k0, n0)
    chi2, p_chi, _, _ = chi2_contingency([[k1, n1 - k1], [k0, n0 - k0]], correction=False)
    assert z * z == pytest.approx(chi2, rel=1e-9)
    assert p == pytest.approx(p_chi, rel=1e-9)
    assert p == pytest.approx(2 * norm.sf(abs(z)), rel=1e-12)
    assert np.sign(z) == np.sign(k1 / n1 - k0 / n0)


@pytest.mark.parametrize(("k1", "n1", "k0", "n0"), [(80, 2000, 60, 2000), (5, 100, 9, 100), (600, 2000, 580, 2000)])
def test_prob_beat_matches_monte_carlo(k1: int, n1: int, k0: int, n0: int) -> None:
    rng = np.random.default_rng(0)
    draws = 400_000
    mc = (rng.beta(1 + k1, 1 + n1 - k1, draws) > rng.beta(1 + k0, 1 + n0 - k0, draws)).mean()
    assert stats.prob_beat_control(k1, n1, k0, n0) == pytest.approx(mc, abs=0.004)


def test_prob_beat_is_one_half_for_identical_counts() -> None:
    assert stats.prob_beat_control(30, 1000, 30, 1000) == pytest.approx(0.5, abs=1e-9)


def test_mde_and_sample_size_are_consistent_with_power() -> None:
    p0, n = 0.03, 2000
    mde = stats.minimum_detectable_effect(p0, n, n)
    assert 0.01 < mde < 0.03
    assert stats.power_at(p0 + mde, n, p0, n) == pytest.approx(0.8, abs=1e-6)
    assert stats.power_at(p0 + mde * 0.9, n, p0, n) < 0.8
    need = stats.sample_size_per_arm(0.04, 0.03)
    assert need is not None and 5000 < need < 5600  # textbook figure for 3% vs 4%: ~5,300 per arm
    assert stats.power_at(0.04, need, 0.03, need) == pytest.approx(0.8, abs=0.01)
    assert stats.sample_size_per_arm(0.03, 0.03) is None


def test_power_matches_simulated_rejection_rate() -> None:
    rng = np.random.default_rng(1)
    n, p0, p1 = 3000, 0.03, 0.045
    k0 = rng.binomial(n, p0, 4000)
    k1 = rng.binomial(n, p1, 4000)
    p_values = [stats.two_proportion_ztest(int(a), n, int(b), n)[1] for a, b in zip(k1, k0, strict=True)]
    rejections = np.mean(np.array(p_values) < 0.05)
    assert stats.power_at(p1, n, p0, n) == pytest.approx(rejections, abs=0.04)


def test_prob_best_agrees_with_the_exact_two_arm_probability_and_sums_to_one() -> None:
    p0, p1 = stats.prob_best([(60, 2000), (80, 2000)], draws=200_000)
    assert p1 == pytest.approx(stats.prob_beat_control(80, 2000, 60, 2000), abs=0.005)
    three = stats.prob_best([(30, 1000), (30, 1000), (60, 1000)])
    assert sum(three) == pytest.approx(1.0) and three[2] > 0.99
