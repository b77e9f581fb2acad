#!/usr/bin/env python3
"""Classical scores on the prototype's splits: is there one fixed score that wins every data set?

Companion to ``score_variants.py`` (same data, same splits from numpy's generator, so compare within
one run only). Everything here is scikit-learn, fitted on each group's training rows:
  pca raw / pca std     PCA reconstruction error (90 % of the variance), raw or standardised
  ocsvm raw             one-class SVM (nu 0.05, gamma "scale"), the strongest peer on breast cancer
  maha LW / maha OAS    Mahalanobis distance with Ledoit-Wolf / OAS shrinkage, standardised space
  ppca std 90 / 95      probabilistic PCA's negative log-likelihood, standardised space
  ppca raw 90           the same on raw values
  dist std              squared distance to the training mean, standardised space
  max pct / sum z       combinations of the PCA error with a distance: the larger of the two
                        training-row percentiles, or the sum of log-scale z-scores

Standardisation as the library's default: mean and population std per feature, no scale below half
the median std. Usage: /usr/bin/python3 classical_scores.py [DATASETS] [SEEDS]
"""
import sys

import numpy as np
from sklearn.covariance import OAS, LedoitWolf
from sklearn.decomposition import PCA
from sklearn.svm import OneClassSVM

from score_variants import auc, load, splits


def standardiser(train, floor=0.5):
    mean, std = train.mean(0), train.std(0)
    std = np.maximum(std, floor * np.median(std))
    std[std == 0] = 1
    return lambda x: (x - mean) / std


def pca_error(train, evaluation, variance=0.9):
    pca = PCA(n_components=variance, svd_solver="full").fit(train)
    error = lambda x: ((x - pca.inverse_transform(pca.transform(x))) ** 2).mean(1)
    return error(train), error(evaluation)


def mahalanobis(train, evaluation, estimator):
    fitted = estimator().fit(train)
    return fitted.mahalanobis(train), fitted.mahalanobis(evaluation)


def ppca(train, evaluation, variance=0.9):
    pca = PCA(n_components=variance, svd_solver="full").fit(train)
    return -pca.score_samples(train), -pca.score_samples(evaluation)


def percentile(train_scores, scores):
    return np.searchsorted(np.sort(train_scores), scores, side="right") / len(train_scores)


def log_z(train_scores, scores):
    logs = np.log(np.maximum(train_scores, 1e-12))
    return (np.log(np.maximum(scores, 1e-12)) - logs.mean()) / logs.std()


def scores_of(train, evaluation):
    z = standardiser(train)
    train_std, eval_std = z(train), z(evaluation)
    svm = OneClassSVM(nu=0.05, gamma="scale").fit(train)
    s = {
        "pca raw": pca_error(train, evaluation),
        "pca std": pca_error(train_std, eval_std),
        "ocsvm raw": (-svm.decision_function(train), -svm.decision_function(evaluation)),
        "maha LW std": mahalanobis(train_std, eval_std, LedoitWolf),
        "maha OAS std": mahalanobis(train_std, eval_std, OAS),
        "ppca std 90": ppca(train_std, eval_std),
        "ppca std 95": ppca(train_std, eval_std, 0.95),
        "ppca raw 90": ppca(train, evaluation),
        "dist std": ((train_std ** 2).mean(1), (eval_std ** 2).mean(1)),
    }
    (pt, pe), (mt, me), (dt, de) = s["pca std"], s["maha LW std"], s["dist std"]
    s["max pct(pca std, LW)"] = (None, np.maximum(percentile(pt, pe), percentile(mt, me)) + 1e-6 * (log_z(pt, pe) + log_z(mt, me)))
    s["sum z(pca std, LW)"] = (None, log_z(pt, pe) + log_z(mt, me))
    s["sum z(pca std, dist)"] = (None, log_z(pt, pe) + log_z(dt, de))
    return s


def main():
    names = (sys.argv[1] if len(sys.argv) > 1 else "digits,wine,breast_cancer").split(",")
    seeds = [int(v) for v in (sys.argv[2] if len(sys.argv) > 2 else "1,2,3").split(",")]
    for name in names:
        labels, rows = load(name)
        table = {}
        for seed in seeds:
            per_group = {}
            for train, evaluation, is_anomaly in splits(labels, rows, seed):
                for method, (_, scores) in scores_of(train.astype(np.float64), evaluation.astype(np.float64)).items():
                    per_group.setdefault(method, []).append(auc(scores, is_anomaly))
            for method, aucs in per_group.items():
                table.setdefault(method, []).append((np.mean(aucs), np.min(aucs)))
        print(f"== {name} (mean / min AUC over the groups, averaged over seeds {seeds})")
        for method, values in table.items():
            values = np.array(values)
            print(f"  {method:24s} {values[:, 0].mean():.4f} / {values[:, 1].mean():.4f}")


if __name__ == "__main__":
    main()
