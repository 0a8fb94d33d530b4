"""Selection without the oracle: one pick from a problem's samples, and its success rate at k samples.

- `plurality_pick` is the pick a run reports and exports: the largest cluster of equal answers
  (or equal programs / normalised patches), a tie going to the cluster sampled first.

Coverage assumes an oracle that recognises a correct sample; without one, a method must pick a
single sample from the k drawn. These functions give, for one problem, the expected success of a
method over random k-subsets of its samples (the paper's Fig. 7 / App. D), as a vector over `ks`.

- `best_of_k_by_score` (reward model + best-of-N, or any scorer) is exact: the top-scored sample of
  a random k-subset is the one at sorted position i with probability C(n-1-i, k-1) / C(n, k).
- `majority_vote_at_k` (plurality answer; weighted by a score it is "reward model + majority vote")
  has no closed form, so it averages `reps` random subsets like the paper (100 per k). Subsets are
  prefixes of one random permutation per repetition, so each repetition costs O(n) whatever ks.
"""

from __future__ import annotations

from typing import Hashable, Optional, Sequence

import numpy as np

__all__ = ["best_of_k_by_score", "majority_vote_at_k", "plurality_pick"]


def plurality_pick(votes: Sequence[tuple[Hashable, int, bool]]) -> Optional[tuple[int, bool]]:
    """(sample index, correct?) of the pick among (vote key, sample index, correct?) votes, or None.

    The largest cluster of one key wins; a tie goes to the cluster whose first sample came first;
    within the cluster the earliest sample is the pick (clusters are judged alike, mostly)."""
    clusters: dict = {}
    for key, index, correct in votes:
        clusters.setdefault(key, []).append((index, correct))
    if not clusters:
        return None
    best = min(clusters.values(), key=lambda c: (-len(c), min(i for i, _ in c)))
    return min(best)


def _answer_ids(answers: Sequence[Optional[Hashable]]) -> tuple[np.ndarray, int]:
    """Answers as integers 0..A-1; a sample without an answer gets A (it abstains from voting)."""
    index: dict = {}
    ids = [index.setdefault(a, len(index)) if a is not None else -1 for a in answers]
    n_answers = len(index)
    return np.array([i if i >= 0 else n_answers for i in ids], dtype=np.int64), n_answers


def majority_vote_at_k(answers: Sequence[Optional[Hashable]], correct, ks, weights=None, reps: int = 100,
                       seed: int = 0) -> np.ndarray:
    """Expected success of picking the plurality answer of k random samples, for each k in `ks`.

    Samples whose answer is None do not vote; a subset where nobody votes fails. Ties are broken
    at random. The chosen answer counts as correct in proportion to its correct samples (for
    exact-answer tasks every sample with one answer is judged alike, so this is 0 or 1).
    """
    correct = np.asarray(correct, dtype=np.float64)
    ids, n_answers = _answer_ids(answers)
    n = ids.size
    if n == 0 or correct.size != n:
        raise ValueError("need one correctness flag per answer, at least one sample")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    votes = np.where(ids < n_answers, w, 0.0)
    answer_correct = np.bincount(ids, weights=correct, minlength=n_answers + 1)[:n_answers] / np.maximum(
        np.bincount(ids, minlength=n_answers + 1)[:n_answers], 1)
    rng = np.random.default_rng(seed)
    perm = np.argsort(rng.random((reps, n)), axis=1)
    seq, seq_votes, seq_voter = ids[perm], votes[perm], (ids < n_answers)[perm]
    tiebreak = rng.random((reps, n_answers + 1))
    rows = np.arange(reps)[:, None] * (n_answers + 1)
    tally = np.zeros((reps, n_answers + 1))
    voters = np.zeros(reps)
    out = np.empty(len(ks))
    done = 0
    for j in np.argsort(ks):
        k = int(min(ks[j], n))
        if k > done:
            flat = (rows + seq[:, done:k]).ravel()
            tally += np.bincount(flat, weights=seq_votes[:, done:k].ravel(),
                                 minlength=reps * (n_answers + 1)).reshape(reps, -1)
            voters += seq_voter[:, done:k].sum(axis=1)
            done = k
        out[j] = _plurality_success(tally[:, :n_answers], voters, tiebreak[:, :n_answers], answer_correct)
    return out


def _plurality_success(tally: np.ndarray, voters: np.ndarray, tiebreak: np.ndarray,
                       answer_correct: np.ndarray) -> float:
    """Mean over repetitions (rows) of the correctness of the most-voted answer; 0 with no voters."""
    if tally.shape[1] == 0:
        return 0.0
    best = tally.max(axis=1, keepdims=True)
    is_best = tally >= best - 1e-12 * np.abs(best)
    winner = np.argmax(np.where(is_best, tiebreak, -1.0), axis=1)  # a random one of the tied answers
    return float(np.where(voters > 0, answer_correct[winner], 0.0).mean())


def best_of_k_by_score(scores, correct, ks) -> np.ndarray:
    """Expected success of taking the highest-scored of k random samples (exact; ties at random).

    Unscored samples (NaN) rank last. Within a group of tied scores the pick is uniform, so a group
    contributes P(the subset's top falls in it) x (its fraction correct).
    """
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    n = scores.size
    if n == 0 or correct.size != n:
        raise ValueError("need one correctness flag per score, at least one sample")
    key = np.where(np.isnan(scores), -np.inf, scores)
    order = np.argsort(-key, kind="stable")
    sorted_key, sorted_correct = key[order], correct[order]
    group = np.concatenate([[0], np.cumsum(sorted_key[1:] != sorted_key[:-1])])
    group_mean = np.bincount(group, weights=sorted_correct) / np.bincount(group)
    i = np.arange(n - 1, dtype=np.float64)
    out = np.empty(len(ks))
    for j, k in enumerate(ks):
        k = int(min(k, n))
        # w_i = C(n-1-i, k-1) / C(n, k): w_0 = k/n, w_{i+1} / w_i = (n-i-k) / (n-i-1), all in [0, 1].
        ratio = np.clip((n - i - k) / (n - i - 1), 0.0, None)
        w = (k / n) * np.concatenate([[1.0], np.cumprod(ratio)])
        out[j] = float(np.dot(np.bincount(group, weights=w), group_mean))
    return out
