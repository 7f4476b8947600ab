"""Word vectors for Japanese: chiVe (Sudachi's word2vec, Apache-2.0) as packaged in ja_ginza.

Short opinions share few words: "ベビーカー" and "保育園" never meet in a bag of words, but
their vectors are close. The 20,000 × 300 table (480,000 words point into it) is read once per
process through spaCy's own Vectors and StringStore, without loading the GiNZA pipeline.
Without ja_ginza installed, ``lookup`` returns None and the pipeline uses the bag of words only.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np


@functools.cache
def _table():
    spec = importlib.util.find_spec("ja_ginza")
    if spec is None or not spec.submodule_search_locations:
        return None
    from spacy.strings import hash_string  # spaCy hashes strings to find their rows
    from spacy.vectors import Vectors

    package = Path(next(iter(spec.submodule_search_locations)))
    vocab = next(package.glob("ja_ginza-*/vocab"), None)
    if vocab is None:
        return None
    vectors = Vectors().from_disk(vocab)
    return vectors, hash_string


def dimensions() -> int:
    table = _table()
    return 0 if table is None else table[0].shape[1]


def lookup(words: list[str]) -> np.ndarray | None:
    """A (len(words), dims) float32 matrix, zero rows for unknown words; None without vectors."""
    found = lookup_with_rank(words)
    return None if found is None else found[0]


#: rows of the table; a word not in it counts as rarer than every row
RANKED = 20_000


def lookup_with_rank(words: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """``lookup`` and each word's row in the table, which runs from the most frequent word
    of chiVe's corpus down (の is 0, を 8): a word's place in Japanese at large, whatever the
    texts at hand. Unknown words get RANKED. None without vectors."""
    table = _table()
    if table is None:
        return None
    vectors, hash_string = table
    data = np.asarray(vectors.data)
    out = np.zeros((len(words), data.shape[1]), dtype=np.float32)
    rank = np.full(len(words), max(RANKED, data.shape[0]), dtype=np.int64)
    for i, word in enumerate(words):
        row = vectors.key2row.get(hash_string(word))
        if row is not None and row >= 0:
            out[i] = data[row]
            rank[i] = row
    return out, rank
