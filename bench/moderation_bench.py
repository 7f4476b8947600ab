"""Moderation scan throughput on resident-style texts, and the worst case on adversarial input.

Texts are built from ``../shared/datasets/resident-voices`` (real-style resident opinions),
cut or joined to 20, 200 and 2,000 characters; one in ten carries a phone number or an e-mail
address. Run with ``make bench``.
"""

from __future__ import annotations

import csv
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import moderation
from moderation.spam import spam_reasons

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
VOICES = DATASETS / "resident-voices" / "voices.tsv"
PII = ["連絡は03-1234-5678まで", "メールは taro@example.jp へ", "〒123-4567 声区中央1-2-3"]


def corpus(length: int, count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    with VOICES.open(encoding="utf-8") as fh:
        voices = [row["text"] for row in csv.DictReader(fh, delimiter="\t")]
    texts = []
    for i in range(count):
        parts = []
        while sum(map(len, parts)) < length:
            parts.append(rng.choice(voices))
        text = "。".join(parts)[:length]
        if i % 10 == 0:
            pii = rng.choice(PII)
            text = (text[: length - len(pii)] + pii)[:length]
        texts.append(text)
    return texts


def throughput(texts: list[str]) -> float:
    moderation.scan(texts[0])  # compile and warm caches
    start = time.perf_counter()
    for text in texts:
        moderation.scan(text)
    return len(texts) / (time.perf_counter() - start)


ADVERSARIAL = {
    "digits and hyphens": lambda n: "1-" * (n // 2),
    "one long number": lambda n: "0" * n,
    "at signs": lambda n: "a@" * (n // 2),
    "丁目 repeated": lambda n: "丁目" * (n // 2),
    "digits and spaces": lambda n: "1 " * (n // 2),
    "+81 repeated": lambda n: "+81" * (n // 3),
    "〒 repeated": lambda n: "〒" * n,
    "blocked word repeated": lambda n: "ばか" * (n // 2),
    "links": lambda n: "https://a.jp/ " * (n // 14),
    "full-width digits": lambda n: "０１２３４５６７８９－" * (n // 11),
}


def main(quick: bool = False) -> None:
    """Print the figures; ``quick`` (``--quick``) runs a few texts only, to check the bench runs."""
    scale = 100 if quick else 1
    print("Moderation scan (moderation.scan: personal data, seed word lists, no spam history)")
    print("  setup: one core, one thread; texts from resident-voices, 10% with personal data")
    for length, count in ((20, 20000 // scale), (200, 20000 // scale), (2000, 2000 // scale)):
        rate = throughput(corpus(length, count))
        print(f"  {length:>5}-character texts  n={count:<6} {rate:10,.0f} texts/s")
    size = 100_000 // scale
    print(f"  worst case on {size // 1000} KB adversarial texts (one scan each):")
    worst = 0.0
    for name, make in ADVERSARIAL.items():
        text = make(size)
        start = time.perf_counter()
        moderation.scan(text)
        elapsed = time.perf_counter() - start
        worst = max(worst, elapsed)
        print(f"    {name:<22} {elapsed * 1000:9.1f} ms")
    print(f"    worst                  {worst * 1000:9.1f} ms")
    if not quick:
        text = ADVERSARIAL["digits and hyphens"](1_000_000)
        start = time.perf_counter()
        moderation.scan(text)
        print(f"  1 MB of '1-': {time.perf_counter() - start:.2f} s")


def recent_posts(quick: bool = False) -> None:
    """The check against everyone's recent texts (a campaign: the same text from many people),
    given all of them or only those sharing a key of ``moderation.band_keys`` (as the app
    reads them from its index, ``moderation_bands``)."""
    print("Spam check against everyone's recent texts (spam_reasons: duplicates, bursts)")
    print("  setup: one core; recent texts joined from two resident-voices texts each; the")
    print("  index as a dict from key to texts (the app keeps it in its database)")
    rng = random.Random(11)
    with VOICES.open(encoding="utf-8") as fh:
        voices = [row["text"] for row in csv.DictReader(fh, delimiter="\t")]
    now = datetime.now(UTC)
    rounds = 3 if quick else 30
    start = time.perf_counter()
    for _ in range(rounds * 10):
        moderation.band_keys.__wrapped__(rng.choice(voices) + rng.choice(voices))
    keys_ms = (time.perf_counter() - start) / (rounds * 10) * 1000
    print(f"  band_keys of one text: {keys_ms:.3f} ms")
    for count in (100, 1000) if quick else (1000, 3000, 10_000):
        recent = [
            moderation.Post(
                rng.choice(voices) + rng.choice(voices), now - timedelta(seconds=i % 500), i
            )
            for i in range(count)
        ]
        index: dict[int, list[moderation.Post]] = {}
        for post in recent:
            for key in moderation.band_keys(post.text):
                index.setdefault(key, []).append(post)
        texts = [rng.choice(voices) + rng.choice(voices) + str(n) for n in range(rounds)]
        spam_reasons(texts[0], recent=recent, now=now, author=-1)  # the recent texts' shingles
        start = time.perf_counter()
        for text in texts:
            spam_reasons(text, recent=recent, now=now, author=-1)
        whole = (time.perf_counter() - start) / rounds * 1000
        start = time.perf_counter()
        shared = 0
        for text in texts:
            near = {id(p): p for key in moderation.band_keys(text) for p in index.get(key, ())}
            shared += len(near)
            spam_reasons(text, recent=list(near.values()), now=now, author=-1)
        narrowed = (time.perf_counter() - start) / rounds * 1000
        print(
            f"  {count:>6} recent texts: all of them {whole:7.2f} ms; those sharing a key "
            f"({shared / rounds:.1f} on average) {narrowed:6.2f} ms"
        )


def precision() -> None:
    """Precision and recall of the seed word lists, in context, on the labelled corpus of
    ``tests/moderation/word_corpus.py`` (threats, insults, and civil texts about pests and
    plans)."""
    sys.path.insert(0, str(ROOT))
    from tests.moderation.word_corpus import ABUSE, CIVIL, INSULTS

    print("Blocked words in context (moderation.scan, seed lists) on the labelled corpus")
    flagged = {t: moderation.scan(t).verdict.decision != "publish" for t in ABUSE + INSULTS + CIVIL}
    caught = sum(flagged[t] for t in ABUSE + INSULTS)
    false = sum(flagged[t] for t in CIVIL)
    refused = sum(moderation.scan(t).verdict == "reject" for t in ABUSE)
    print(f"  abusive texts flagged (recall): {caught}/{len(ABUSE) + len(INSULTS)}")
    print(f"  threats refused: {refused}/{len(ABUSE)}")
    print(f"  civil texts flagged: {false}/{len(CIVIL)}")
    print(f"  precision of a flag: {caught / max(caught + false, 1):.3f}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
    recent_posts(quick="--quick" in sys.argv)
    precision()
