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
from pathlib import Path

import moderation

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
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


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
