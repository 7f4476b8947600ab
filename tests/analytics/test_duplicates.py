"""Near-duplicates and campaigns: found, shown once with their count, never dropped."""

from __future__ import annotations

import json
import random

import pytest
from sklearn.metrics import normalized_mutual_info_score

from analytics import cluster_texts
from analytics.duplicates import fold, groups
from tests.analytics.test_quality import DATASETS, rows

CAMPAIGN = "駅前の再開発計画に反対します。高層マンションではなく、緑の広場を残してください。"


def variants(text: str, count: int, seed: int = 0) -> list[str]:
    """Copies as a campaign sends them: spaces, full width, other punctuation, a word more."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        copy = text
        if n % 3 == 1:
            copy = copy.replace("。", "！").replace("、", " ")
        if n % 3 == 2:
            copy = copy.translate(str.maketrans("ABC0123456789", "ＡＢＣ０１２３４５６７８９"))
            copy = "【意見】" + copy
        if rng.random() < 0.3:
            copy += "よろしくお願いします。"
        out.append(copy)
    return out


def test_folding_keeps_letters_and_digits_only():
    assert fold("公園に ベンチを、増やして！ ＡＢＣ１２３") == "公園にベンチを増やしてabc123"


def test_copies_with_small_changes_are_one_group_and_different_texts_are_not():
    texts = [
        *variants(CAMPAIGN, 12),
        "駅前の再開発計画に賛成です。商業施設が増えるのを楽しみにしています。",
        "図書館の開館時間を夜まで延ばしてください。",
        "",
        "!!!",
    ]
    found = groups(texts)
    assert found == [list(range(12))]


def test_a_campaign_weighs_as_one_text_and_every_copy_keeps_its_place():
    texts, truth = rows("resident-voices/voices.tsv", "\t")
    campaign = variants(CAMPAIGN, 300)
    result = cluster_texts(texts + campaign, k=8)
    group = next(g for g in result.duplicates if len(g) >= 300)
    assert set(range(len(texts), len(texts) + 300)) <= set(group)
    home = result.clusters[result.labels[group[0]]]
    assert group in home.duplicates and set(group) <= set(home.members)
    assert home.distinct == home.size - (len(group) - 1) - sum(
        len(g) - 1 for g in home.duplicates if g is not group
    )
    assert sum(c.size for c in result.clusters) == len(texts) + 300  # nothing dropped
    # 300 copies do not pull the themes of the 400 other texts apart
    own = result.labels[: len(texts)]
    assert normalized_mutual_info_score(truth, own) >= 0.25
    # the representatives are distinct texts
    for cluster in result.clusters:
        reps = cluster.representatives
        assert len({result.labels[i] for i in reps}) <= 1
        assert sum(1 for i in reps if i in set(group)) <= 1


def test_naughty_strings_group_without_failing():
    path = DATASETS / "naughty-strings" / "blns.json"
    if not path.exists():
        pytest.fail(f"{path} is missing: the datasets live in ../shared beside the project")
    naughty = json.loads(path.read_text(encoding="utf-8"))
    found = groups(naughty + naughty)
    folded = {fold(t) for t in naughty if fold(t)}
    assert len(found) <= len(folded)
    assert all(len(g) >= 2 for g in found)
    result = cluster_texts(naughty)
    assert sum(c.size for c in result.clusters) + len(result.other) == len(naughty)
