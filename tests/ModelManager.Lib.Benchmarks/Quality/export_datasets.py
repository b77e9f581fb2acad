#!/usr/bin/env python3
"""Exports the real data sets bundled with scikit-learn to CSV for the quality benchmark.

Only data files that ship inside the scikit-learn package are used (nothing is downloaded):
digits, wine and breast cancer. Each CSV has a header, then one row per sample: the class label
(which plays the age group) followed by the features as scikit-learn returns them (raw scales).

Usage: python3 export_datasets.py [OUTPUT_FOLDER]   (default: the data/ folder next to this file)
"""
import csv
import os
import sys

import sklearn
from sklearn import datasets

LOADERS = {
    "digits": datasets.load_digits,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
}


def fmt(value):
    # repr of a Python float round-trips exactly; integers stay integers.
    f = float(value)
    return str(int(f)) if f.is_integer() else repr(f)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    os.makedirs(out, exist_ok=True)
    for name, load in LOADERS.items():
        bunch = load()
        features = [str(f).replace(",", " ").replace(" ", "_") for f in getattr(bunch, "feature_names", [])]
        if len(features) != bunch.data.shape[1]:
            features = [f"f{i}" for i in range(bunch.data.shape[1])]
        path = os.path.join(out, name + ".csv")
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["label"] + features)
            for label, row in zip(bunch.target, bunch.data):
                writer.writerow([int(label)] + [fmt(v) for v in row])
        print(f"{name}: {bunch.data.shape[0]} rows x {bunch.data.shape[1]} features -> {path}")
    print(f"scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
