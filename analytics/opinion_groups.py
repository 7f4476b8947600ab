"""Opinion groups from reactions, the Pol.is way: who agrees with whom, and on what.

Input: a vote matrix, participants × statements, 1 agree, -1 disagree, 0 pass, NaN not seen.
1. Participants with fewer than ``min_votes`` votes are left out of the groups (too little
   to place them).
2. Missing votes take the statement's mean; PCA to two dimensions; each participant's point is
   scaled by sqrt(statements / votes), so that people who voted little are not pulled to the
   centre (as Pol.is does).
3. k-means with k from 2 to 5, the k with the best silhouette (or the one asked for).
4. Representative statements of a group: those it agrees (or disagrees) with far more than the
   others do, by the ratio of smoothed agreement rates, with at least ``min_group_votes``.
5. Group-informed consensus: the product over the groups of each group's smoothed agreement
   rate, so a statement ranks high only when every group agrees with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

MIN_VOTES = 7
K_RANGE = range(2, 6)


@dataclass
class Statement:
    index: int  # column of the vote matrix
    stance: str  # "agree" or "disagree"
    rate: float  # the group's smoothed rate of that stance
    ratio: float  # ... divided by everyone else's


@dataclass
class OpinionGroups:
    participants: np.ndarray  # row indices of the participants placed in groups
    labels: np.ndarray  # the group of each of those participants
    coordinates: np.ndarray  # (len(participants), 2)
    k: int
    representative: list[list[Statement]]  # per group, strongest first
    consensus: list[tuple[int, float]]  # (statement, group-informed consensus), highest first


def _rates(votes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smoothed agree and disagree rates ((n+1)/(seen+2)) and the count of votes, per statement."""
    part = votes[rows]
    seen = (~np.isnan(part)).sum(axis=0)
    agree = (part == 1).sum(axis=0)
    disagree = (part == -1).sum(axis=0)
    return (agree + 1) / (seen + 2), (disagree + 1) / (seen + 2), seen


def opinion_groups(
    votes: np.ndarray,
    *,
    k: int | None = None,
    min_votes: int = MIN_VOTES,
    min_group_votes: int = 5,
    top: int = 5,
    seed: int = 0,
) -> OpinionGroups:
    votes = np.asarray(votes, dtype=float)
    counts = (~np.isnan(votes)).sum(axis=1)
    placed = np.flatnonzero(counts >= min_votes)
    if len(placed) < 4 or votes.shape[1] < 2:
        raise ValueError("too few participants with enough votes to form groups")
    matrix = votes[placed]
    seen = ~np.isnan(matrix)
    sums = np.where(seen, matrix, 0.0).sum(axis=0)
    means = np.divide(sums, seen.sum(axis=0), out=np.zeros(matrix.shape[1]), where=seen.any(axis=0))
    filled = np.where(seen, matrix, means)
    points = PCA(2, random_state=seed).fit_transform(filled)
    points *= np.sqrt(votes.shape[1] / counts[placed])[:, None]

    if k is None:
        distinct = len(np.unique(points.round(9), axis=0))
        best = None
        for candidate in K_RANGE:
            if candidate >= len(placed) or candidate > distinct:
                break  # (identical voters are one point: no more groups than points)
            labels = KMeans(candidate, n_init=10, random_state=seed).fit_predict(points)
            score = silhouette_score(points, labels) if len(set(labels)) > 1 else -1
            if best is None or score > best[0]:
                best = (score, candidate, labels)
        _, k, labels = best
    else:
        labels = KMeans(k, n_init=10, random_state=seed).fit_predict(points)

    group_rates = []
    representative = []
    everyone = np.arange(len(placed))
    for g in range(k):
        inside = placed[labels == g]
        outside = placed[labels != g]
        agree_in, disagree_in, seen_in = _rates(votes, inside)
        agree_out, disagree_out, _ = _rates(votes, outside)
        group_rates.append(agree_in)
        found = []
        for stance, rate, other in (
            ("agree", agree_in, agree_out),
            ("disagree", disagree_in, disagree_out),
        ):
            ratio = rate / other
            for j in np.flatnonzero((seen_in >= min_group_votes) & (rate > 0.5) & (ratio > 1)):
                found.append(Statement(int(j), stance, float(rate[j]), float(ratio[j])))
        found.sort(key=lambda s: -(s.ratio * s.rate))
        representative.append(found[:top])
    consensus_score = np.prod(np.vstack(group_rates), axis=0)
    _, _, seen_all = _rates(votes, placed[everyone])
    order = [j for j in np.argsort(-consensus_score, kind="stable") if seen_all[j] >= min_votes]
    consensus = [(int(j), float(consensus_score[j])) for j in order[:top]]
    return OpinionGroups(placed, labels, points, k, representative, consensus)
