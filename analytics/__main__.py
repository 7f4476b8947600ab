"""python -m analytics evaluate FILE --text-col C --label-col L [--k K] [--seeds N]
python -m analytics cluster FILE --text-col C [--k K]

FILE is CSV, or TSV when it ends in .tsv. ``evaluate`` clusters at the library's own k (and
prints it) unless --k is given, and prints NMI, AMI and ARI (the mean over --seeds runs);
``cluster`` prints each theme with its size, keywords, density and representative texts.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from sklearn.metrics import (
    adjusted_mutual_info_score,
    adjusted_rand_score,
    normalized_mutual_info_score,
)

from analytics.cluster import cluster_texts


def read_rows(path: Path, columns: list[str]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ",")
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{path}: no column {', '.join(missing)} (has {reader.fieldnames})")
        return [row for row in reader if row[columns[0]].strip()]


def evaluate(args) -> None:
    rows = read_rows(args.file, [args.text_col, args.label_col])
    texts = [r[args.text_col] for r in rows]
    truth = [r[args.label_col] for r in rows]
    nmis, amis, aris, ks = [], [], [], []
    started = time.perf_counter()
    for seed in range(args.seeds):
        result = cluster_texts(texts, k=args.k, seed=seed)
        nmis.append(normalized_mutual_info_score(truth, result.labels))
        amis.append(adjusted_mutual_info_score(truth, result.labels))
        aris.append(adjusted_rand_score(truth, result.labels))
        ks.append(result.k)
    took = (time.perf_counter() - started) / args.seeds
    chosen = f"k={args.k}" if args.k else f"the library's own k: {', '.join(map(str, ks))}"
    print(f"{args.file.name}: {len(texts)} texts, {len(set(truth))} labels, {chosen}")
    print(f"NMI {sum(nmis) / len(nmis):.3f}  AMI {sum(amis) / len(amis):.3f}", end="")
    print(f"  ARI {sum(aris) / len(aris):.3f}  (mean of {args.seeds} seeds; {took:.1f} s a run)")


def report(args) -> None:
    rows = read_rows(args.file, [args.text_col])
    texts = [r[args.text_col] for r in rows]
    result = cluster_texts(texts, k=args.k)
    print(f"{len(texts)} texts in {result.k} themes")
    if result.other:
        print(f"その他 (fit no theme): {len(result.other)} texts")
    for c in sorted(result.clusters, key=lambda c: -c.size):
        print(f"\n[{c.id}] {c.label}  ({c.size} texts, {len(c.core)} in the core)")
        print(f"    keywords: {', '.join(c.keywords)}")
        print(f"    summary: {c.summary}")
        for i in c.representatives:
            text = " ".join(texts[i].split())
            print(f"    - {text[:120]}{'…' if len(text) > 120 else ''}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("evaluate", help="NMI, AMI and ARI against a label column")
    ev.add_argument("file", type=Path)
    ev.add_argument("--text-col", required=True)
    ev.add_argument("--label-col", required=True)
    ev.add_argument("--k", type=int)
    ev.add_argument("--seeds", type=int, default=3)
    cl = commands.add_parser("cluster", help="a readable report of the themes")
    cl.add_argument("file", type=Path)
    cl.add_argument("--text-col", required=True)
    cl.add_argument("--k", type=int)
    args = parser.parse_args(argv)
    (evaluate if args.command == "evaluate" else report)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
