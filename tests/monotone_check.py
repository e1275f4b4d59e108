#!/usr/bin/env python3
"""More HBM never lowers throughput: pairs the rows of results.csv files (same candidate and
recompute mode, increasing HBM) and counts the pairs where the larger HBM is slower or
infeasible. Exits 1 if any pair violates it.

    tests/monotone_check.py RESULTS.csv [RESULTS.csv ...]
"""
import csv
import sys
from collections import defaultdict


def check(path):
    rows = defaultdict(list)
    with open(path) as f:
        for r in csv.DictReader(f):
            thr = float(r["throughput_samples_per_s"]) if r["feasible"] == "1" else 0.0
            rows[(r["candidate"], r["recompute"])].append((int(r["hbm_gib"]), thr))
    pairs = violations = 0
    for key, points in rows.items():
        points.sort()
        for (h1, t1), (h2, t2) in zip(points, points[1:]):
            pairs += 1
            if t2 < t1 * (1 - 1e-12):
                violations += 1
                print(f"{path}: candidate {key[0]} recompute {key[1]}: {h1} GiB {t1:.6g} -> "
                      f"{h2} GiB {t2:.6g} samples/s")
    print(f"{path}: {pairs} pairs, {violations} violations")
    return violations


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    return 1 if sum(check(p) for p in sys.argv[1:]) else 0


if __name__ == "__main__":
    sys.exit(main())
