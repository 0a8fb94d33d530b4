"""pass@k, coverage curves, bootstrap intervals and selection methods, against brute-force
enumeration of every k-subset (itertools.combinations) on small hand-made cases."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from swe_monkeys.metrics.passk import (bootstrap_ci, coverage_curve, coverage_every_k, log_spaced_ks, pass_at_k,
                                       pass_at_k_matrix)
from swe_monkeys.metrics.selection import best_of_k_by_score, majority_vote_at_k


def brute_pass_at_k(n: int, c: int, k: int) -> float:
    """Fraction of k-subsets of n samples (the first c correct) that contain a correct one."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_matches_enumeration(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            expected = brute_pass_at_k(n, c, k)
            assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)
            assert pass_at_k_matrix([n], [c], [k])[0, 0] == pytest.approx(expected, abs=1e-12)


def test_matrix_agrees_with_scalar_at_large_n():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 20_000, 60)
    c = rng.binomial(n, rng.beta(0.3, 3.0, 60))
    ks = [1, 2, 7, 100, 999, 5000, 19_999]
    matrix = pass_at_k_matrix(n, c, ks)
    for i in range(n.size):
        for j, k in enumerate(ks):
            if k <= n[i]:
                assert matrix[i, j] == pytest.approx(pass_at_k(int(n[i]), int(c[i]), k), abs=1e-9)


def test_matrix_chunking_does_not_change_results():
    # 30,000 samples spans several 8192-wide chunks of the running log-sum.
    n, c = np.array([30_000, 30_000, 20_000]), np.array([3, 700, 1])
    ks = [1, 10, 8191, 8192, 8193, 29_000]
    expected = [[pass_at_k(int(a), int(b), min(k, int(a))) for k in ks] for a, b in zip(n, c)]
    np.testing.assert_allclose(pass_at_k_matrix(n, c, ks), expected, atol=1e-10)


def test_ragged_n_uses_pass_at_n_beyond_a_problems_samples():
    # Problem 0 has 3 judged samples (one right), problem 1 has 3 (none right): at k = 5 the first is
    # solved for sure and the second is counted unsolved (a lower bound), not 1.0 as n - c < k suggests.
    m = pass_at_k_matrix([3, 3, 10], [1, 0, 2], [5])
    assert m[:, 0].tolist() == [1.0, 0.0, pytest.approx(brute_pass_at_k(10, 2, 5))]


def test_every_k_curve_matches_pointwise_curve():
    rng = np.random.default_rng(0)
    n = rng.integers(50, 400, 40)
    c = rng.binomial(n, rng.beta(0.5, 2.0, 40))
    ks = np.arange(1, n.max() + 1)
    np.testing.assert_allclose(coverage_every_k(n, c), coverage_curve(n, c, ks), atol=1e-10)


def test_coverage_is_the_mean_over_problems():
    assert coverage_curve([4, 4], [0, 2], [1, 2]).tolist() == pytest.approx([0.25, (0 + 5 / 6) / 2])


def test_invalid_counts_are_rejected():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)
    with pytest.raises(ValueError):
        pass_at_k_matrix([3], [4], [1])
    with pytest.raises(ValueError):
        pass_at_k_matrix([3], [1], [0])


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    rng = np.random.default_rng(1)
    per_problem = rng.random((200, 3))
    lo, hi = bootstrap_ci(per_problem, n_boot=500, seed=7)
    mean = per_problem.mean(axis=0)
    assert (lo < mean).all() and (mean < hi).all()
    # The standard error of a mean of U(0,1) over 200 problems is ~0.02: the 95% interval is ~0.08 wide.
    assert ((hi - lo) > 0.04).all() and ((hi - lo) < 0.12).all()
    lo2, hi2 = bootstrap_ci(per_problem, n_boot=500, seed=7)
    assert (lo == lo2).all() and (hi == hi2).all()
    flat_lo, flat_hi = bootstrap_ci(np.full((50, 2), 0.3))
    np.testing.assert_allclose([flat_lo, flat_hi], 0.3)


def test_log_spaced_ks_follow_the_paper_and_can_be_exactly_forty():
    paper = log_spaced_ks(10_000)
    assert paper[0] == 1 and paper[-1] == 10_000 and paper.size == 37  # duplicates removed (App. C.1)
    exact = log_spaced_ks(10_000, 40, distinct=True)
    assert exact.size == 40 and exact[-1] == 10_000 and (np.diff(exact) > 0).all()
    assert log_spaced_ks(1).tolist() == [1]


def brute_best_of_k(scores, correct, k) -> float:
    """Expected correctness of the top-scored sample over all k-subsets, ties split evenly."""
    total = 0.0
    subsets = list(itertools.combinations(range(len(scores)), k))
    for s in subsets:
        top = max(scores[i] for i in s)
        tied = [i for i in s if scores[i] == top]
        total += sum(correct[i] for i in tied) / len(tied)
    return total / len(subsets)


def test_best_of_k_by_score_matches_enumeration_with_ties():
    scores = [0.9, 0.9, 0.5, 0.7, 0.1, 0.7, 0.3]
    correct = [0, 1, 1, 0, 1, 1, 0]
    ks = list(range(1, 8))
    expected = [brute_best_of_k(scores, correct, k) for k in ks]
    np.testing.assert_allclose(best_of_k_by_score(scores, correct, ks), expected, atol=1e-12)


def test_best_of_k_ranks_unscored_samples_last():
    # Only the unscored sample is right: it is picked only when it is alone (k = 1, prob 1/3).
    got = best_of_k_by_score([np.nan, 0.2, 0.4], [1, 0, 0], [1, 2, 3])
    np.testing.assert_allclose(got, [1 / 3, 0.0, 0.0], atol=1e-12)


def brute_majority(answers, correct, k) -> float:
    """Expected success of the plurality answer over all k-subsets, ties broken uniformly."""
    answer_ok = {a: np.mean([c for b, c in zip(answers, correct) if b == a]) for a in set(answers) if a is not None}
    total = 0.0
    subsets = list(itertools.combinations(range(len(answers)), k))
    for s in subsets:
        votes = Counter(answers[i] for i in s if answers[i] is not None)
        if votes:
            top = max(votes.values())
            winners = [a for a, v in votes.items() if v == top]
            total += sum(answer_ok[a] for a in winners) / len(winners)
    return total / len(subsets)


def test_majority_vote_matches_enumeration():
    answers = ["7", "7", "3", "3", "3", "5", None, "7"]
    correct = [1, 1, 0, 0, 0, 0, 0, 1]
    ks = [1, 2, 3, 5, 8]
    expected = [brute_majority(answers, correct, k) for k in ks]
    got = majority_vote_at_k(answers, correct, ks, reps=20_000, seed=1)
    np.testing.assert_allclose(got, expected, atol=0.012)  # Monte Carlo: ~4 standard errors


def test_majority_vote_without_any_answer_fails():
    assert majority_vote_at_k([None, None], [1, 1], [1, 2]).tolist() == [0.0, 0.0]


def test_importing_metrics_loads_neither_scipy_nor_matplotlib():
    code = ("import sys, swe_monkeys.metrics, swe_monkeys.metrics.report, swe_monkeys.metrics.fits, "
            "swe_monkeys.metrics.cost; print([m for m in sys.modules if m.split('.')[0] in ('scipy', 'matplotlib')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
