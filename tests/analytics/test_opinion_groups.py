"""Opinion groups from votes (Pol.is): on real votes from Bowling Green, and on made-up camps."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from analytics import opinion_groups
from tests.analytics.test_quality import DATASETS


def bowling_green() -> tuple[np.ndarray, np.ndarray]:
    path = DATASETS / "polis-bowling-green" / "participants-votes.csv"
    if not path.exists():
        pytest.fail(f"{path} is missing: the datasets live in ../shared beside the project")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    votes = np.array([[float(v) if v else np.nan for v in r[6:]] for r in rows])
    return votes, np.array([r[1] for r in rows])  # Pol.is's own group, "" when not placed


def test_real_votes_give_the_groups_polis_found():
    votes, polis = bowling_green()
    found = opinion_groups(votes)
    assert found.k == 2  # Pol.is also found two
    placed = polis[found.participants] != ""
    agreement = adjusted_rand_score(polis[found.participants][placed], found.labels[placed])
    assert agreement >= 0.6  # measured 0.75
    counts = (~np.isnan(votes)).sum(axis=1)
    assert (counts[found.participants] >= 7).all()
    assert found.coordinates.shape == (len(found.participants), 2)


def test_representative_statements_divide_and_consensus_unites():
    votes, _ = bowling_green()
    found = opinion_groups(votes)
    rows = [found.participants[found.labels == g] for g in range(found.k)]

    def agree_rate(group_rows, j):
        column = votes[group_rows, j]
        seen = ~np.isnan(column)
        return ((column[seen] == 1).sum() + 1) / (seen.sum() + 2)

    for g, statements in enumerate(found.representative):
        assert statements, f"group {g} has no representative statement"
        others = np.concatenate([r for h, r in enumerate(rows) if h != g])
        for s in statements:
            value = 1 if s.stance == "agree" else -1
            mine = (votes[rows[g], s.index] == value).mean()
            theirs = (votes[others, s.index] == value).mean()
            assert mine > theirs
    for j, score in found.consensus:
        assert all(agree_rate(r, j) > 0.5 for r in rows), j
        assert 0 < score <= 1


def test_made_up_camps_are_found_exactly():
    """Two camps of 20 vote against each other on 10 statements (each person crossing the line
    once), and everyone agrees with 3; a tenth of the votes are missing."""
    rng = np.random.default_rng(0)
    votes = np.empty((40, 13))
    for person in range(40):
        side = 1 if person < 20 else -1
        votes[person, :10] = side
        votes[person, person % 10] = -side
        votes[person, 10:] = 1
    votes[rng.random(votes.shape) < 0.1] = np.nan
    found = opinion_groups(votes, min_votes=5)
    assert found.k == 2
    truth = np.array([0] * 20 + [1] * 20)[found.participants]
    assert adjusted_rand_score(truth, found.labels) == 1.0
    assert {j for j, _ in found.consensus[:3]} == {10, 11, 12}
    for statements in found.representative:
        assert statements and all(s.index < 10 for s in statements)


def test_too_few_voters_is_a_clear_error():
    with pytest.raises(ValueError, match="too few participants"):
        opinion_groups(np.array([[1.0, -1.0], [1.0, np.nan]]))
