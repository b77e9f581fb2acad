#!/usr/bin/env python3
"""The classical detectors a data scientist tries first, for the quality benchmark.

The .NET side (``--quality``) writes one folder per (data set, seed, group) under WORKDIR with
``train.csv`` (the group's training rows) and ``eval.csv`` (its held-out normal rows and the
anomalies), features only, no header. For every folder this script writes ``peers_train.csv`` and
``peers_eval.csv``: a header of method names, then one line per row of the matching input, each
value an anomaly score (higher = more unusual). The .NET side turns them into ROC-AUC and
false-alarm rates exactly as it does for the library's models, so every method is measured the
same way.

Methods (every one fitted on the training rows only):
  pca_raw        PCA reconstruction error (mean squared error per feature), components: the fewest
                 that explain at least 90 % of the training rows' variance (90 % beat 80, 95 and
                 99 % on digits and wine in a trial on these data, so the yardstick is the stronger one)
  pca_std        the same after per-feature standardisation fitted on the training rows
                 (StandardScaler: a feature that is constant in training gets scale 1)
  iforest        IsolationForest(n_estimators=200, random_state=seed), score = -score_samples
  ocsvm_raw      OneClassSVM(kernel="rbf", nu=0.05, gamma="scale"), score = -decision_function
  ocsvm_std      the same after standardisation

Usage: python3 peers.py WORKDIR     (each folder's seed is read from its ``seed`` file)
"""
import os
import sys

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

PCA_VARIANCE = 0.90
METHODS = ["pca_raw", "pca_std", "iforest", "ocsvm_raw", "ocsvm_std"]


def pca_scores(train, rows):
    pca = PCA(n_components=PCA_VARIANCE, svd_solver="full").fit(train)
    out = []
    for x in rows:
        recon = pca.inverse_transform(pca.transform(x))
        out.append(((x - recon) ** 2).mean(axis=1))
    return out


def ocsvm_scores(train, rows):
    model = OneClassSVM(kernel="rbf", nu=0.05, gamma="scale").fit(train)
    return [-model.decision_function(x) for x in rows]


def score_folder(folder):
    train = np.loadtxt(os.path.join(folder, "train.csv"), delimiter=",", ndmin=2)
    evaluation = np.loadtxt(os.path.join(folder, "eval.csv"), delimiter=",", ndmin=2)
    with open(os.path.join(folder, "seed")) as handle:
        seed = int(handle.read().strip())
    scaler = StandardScaler().fit(train)
    train_std, eval_std = scaler.transform(train), scaler.transform(evaluation)
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(train)
    columns = {
        "pca_raw": pca_scores(train, [train, evaluation]),
        "pca_std": pca_scores(train_std, [train_std, eval_std]),
        "iforest": [-forest.score_samples(train), -forest.score_samples(evaluation)],
        "ocsvm_raw": ocsvm_scores(train, [train, evaluation]),
        "ocsvm_std": ocsvm_scores(train_std, [train_std, eval_std]),
    }
    for index, name in enumerate(["peers_train.csv", "peers_eval.csv"]):
        table = np.column_stack([columns[m][index] for m in METHODS])
        np.savetxt(os.path.join(folder, name), table, delimiter=",", header=",".join(METHODS), comments="", fmt="%.10g")


def main():
    work = sys.argv[1]
    folders = sorted(os.path.join(root) for root, _, files in os.walk(work) if "train.csv" in files)
    for folder in folders:
        score_folder(folder)
    print(f"peers: scored {len(folders)} folders")


if __name__ == "__main__":
    main()
