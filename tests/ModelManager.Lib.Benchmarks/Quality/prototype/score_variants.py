#!/usr/bin/env python3
"""PyTorch prototype of the library's training loop, to try scoring ideas before building them.

Not the benchmark: its splits come from numpy's generator (not the .NET splitter), so its figures
differ from ``--quality`` by a few thousandths; compare variants within one run only. It mirrors the
library's default: per-feature standardisation with a scale floor (FLOOR x the median feature std),
hidden [d/2, d/4] with ReLU and dropout 0.1 after every hidden layer, Adam lr 0.001, batch 32, 100
epochs, 20 % validation, ReduceLROnPlateau(0.5, 5), early stopping (patience 10, relative 1e-4),
gradient clipping 1.0, best epoch restored. Needs Debian's python3-torch and python3-sklearn.

Usage: /usr/bin/python3 score_variants.py [DATASETS] [SEEDS]     e.g. breast_cancer,wine,digits 1,2,3
Prints mean / min ROC-AUC over the groups (averaged over seeds) for:
  base            reconstruction error (the library's score)
  clamp q         bottleneck codes clamped to the [q, 100-q] percentiles of the training rows' codes
  b+w*mahal       + w x the latent Mahalanobis distance / d
  ppca nll        d x error / (validation rows' mean error) + latent Mahalanobis (probabilistic PCA's likelihood)
  b+w*centre      + w x the squared distance of the reconstruction from the training mean / d
  wd W            Adam weight decay W (L2, as torch.optim.Adam's weight_decay)
  input noise S   Gaussian noise S added to the inputs while training (a denoising autoencoder)
  distance        squared distance to the training mean in the standardised space
  ocsvm raw       the strongest peer on breast cancer, for reference
"""
import sys

import numpy as np
import torch
import torch.nn as nn
from scipy.stats import rankdata
from sklearn.svm import OneClassSVM

DATA = __file__.rsplit("/", 2)[0] + "/data/"
FLOOR = 0.5
torch.set_num_threads(1)


def load(name):
    table = np.loadtxt(DATA + name + ".csv", delimiter=",", skiprows=1)
    return table[:, 0].astype(int), table[:, 1:].astype(np.float32)


def auc(scores, is_anomaly):
    ranks = rankdata(scores)
    n1 = is_anomaly.sum()
    n0 = len(is_anomaly) - n1
    return (ranks[is_anomaly == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def splits(labels, rows, seed):
    rng = np.random.default_rng(seed)
    groups = np.unique(labels)
    per_other = int(np.ceil(600 / max(1, len(groups) - 1)))
    for g in groups:
        own = rng.permutation(np.where(labels == g)[0])
        k = int(round(len(own) * 0.7))
        anomalies = np.concatenate([rng.permutation(np.where(labels == h)[0])[:per_other] for h in groups if h != g])
        evaluation = np.concatenate([own[k:], anomalies])
        yield rows[own[:k]], rows[evaluation], np.r_[np.zeros(len(own) - k), np.ones(len(anomalies))]


class Autoencoder(nn.Module):
    def __init__(self, d, hidden, dropout=0.1, noise=0.0):
        super().__init__()
        self.noise = noise
        layers, previous = [], d
        for h in hidden:
            layers += [nn.Linear(previous, h), nn.ReLU(), nn.Dropout(dropout)]
            previous = h
        self.encoder = nn.Sequential(*layers)
        layers = []
        for h in list(reversed(hidden))[1:]:
            layers += [nn.Linear(previous, h), nn.ReLU(), nn.Dropout(dropout)]
            previous = h
        self.decoder = nn.Sequential(*layers, nn.Linear(previous, d))
        self.low = self.high = None

    def forward(self, x, clamp=False):
        if self.training and self.noise > 0:
            x = x + self.noise * torch.randn_like(x)
        z = self.encoder(x)
        if clamp:
            z = torch.maximum(torch.minimum(z, self.high), self.low)
        return self.decoder(z)


def train(rows, hidden, seed, weight_decay=0.0, noise=0.0):
    torch.manual_seed(seed)
    order = np.random.default_rng(seed).permutation(len(rows))
    n_val = max(1, int(len(rows) * 0.2))
    validation, training = torch.tensor(rows[order[:n_val]]), torch.tensor(rows[order[n_val:]])
    model = Autoencoder(rows.shape[1], hidden, noise=noise)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5, patience=5)
    best, best_state, bad = float("inf"), None, 0
    for _ in range(100):
        model.train()
        permutation = torch.randperm(len(training))
        for i in range(0, len(training), 32):
            batch = training[permutation[i:i + 32]]
            optimiser.zero_grad()
            loss = ((model(batch) - batch) ** 2).mean()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
        model.eval()
        with torch.no_grad():
            validation_loss = ((model(validation) - validation) ** 2).mean().item()
        schedule.step(validation_loss)
        if validation_loss < best * (1 - 1e-4):
            best, best_state, bad = validation_loss, {k: v.clone() for k, v in model.state_dict().items()}, 0
        else:
            bad += 1
            if bad >= 10:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, training, validation


def variants(train_rows, eval_rows, seed):
    d = train_rows.shape[1]
    mean, std = train_rows.mean(0), train_rows.std(0)
    std = np.maximum(std, FLOOR * np.median(std))
    std[std == 0] = 1
    ts, es = (train_rows - mean) / std, (eval_rows - mean) / std
    hidden = [max(d // 2, 2), max(d // 4, 2)]
    x = torch.tensor(es, dtype=torch.float32)
    out = {}
    model, training, validation_rows = train(ts, hidden, seed)
    with torch.no_grad():
        reconstruction = model(x)
        base = ((reconstruction - x) ** 2).mean(1).numpy()
        out["base"] = base
        codes = model.encoder(training)
        for q in (0, 5):
            model.low, model.high = torch.quantile(codes, q / 100, dim=0), torch.quantile(codes, 1 - q / 100, dim=0)
            out[f"clamp {q}"] = ((model(x, clamp=True) - x) ** 2).mean(1).numpy()
        z, zt = model.encoder(x).numpy(), codes.numpy()
        inverse = np.linalg.inv(np.cov(zt.T) + 1e-3 * np.eye(zt.shape[1]))
        mahalanobis = np.einsum("ij,jk,ik->i", z - zt.mean(0), inverse, z - zt.mean(0)) / d
        centre = ((reconstruction - training.mean(0)) ** 2).mean(1).numpy()
        for w in (1, 4):
            out[f"b+{w}*mahal"] = base + w * mahalanobis
        # Probabilistic PCA's negative log-likelihood: the error in units of the validation rows' noise, plus the latent Mahalanobis distance.
        noise = ((model(validation_rows) - validation_rows) ** 2).mean().item()
        out["ppca nll"] = d * base / noise + mahalanobis * d
        for w in (0.1, 0.5):
            out[f"b+{w}*centre"] = base + w * centre
    for wd in (0.01, 0.1):
        m, _, _ = train(ts, hidden, seed, weight_decay=wd)
        with torch.no_grad():
            out[f"wd {wd}"] = ((m(x) - x) ** 2).mean(1).numpy()
    for s in (0.3, 0.6):
        m, _, _ = train(ts, hidden, seed, noise=s)
        with torch.no_grad():
            out[f"input noise {s}"] = ((m(x) - x) ** 2).mean(1).numpy()
    out["distance"] = ((es - ts.mean(0)) ** 2).mean(1)
    out["ocsvm raw"] = -OneClassSVM(nu=0.05, gamma="scale").fit(train_rows).decision_function(eval_rows)
    return out


def main():
    datasets = (sys.argv[1] if len(sys.argv) > 1 else "breast_cancer,wine,digits").split(",")
    seeds = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "1,2,3").split(",")]
    for name in datasets:
        labels, rows = load(name)
        results = {}
        for seed in seeds:
            for train_rows, eval_rows, is_anomaly in splits(labels, rows, seed):
                for key, scores in variants(train_rows, eval_rows, seed).items():
                    results.setdefault(key, {}).setdefault(seed, []).append(auc(scores, is_anomaly))
        for key, per_seed in results.items():
            means = [np.mean(a) for a in per_seed.values()]
            mins = [np.min(a) for a in per_seed.values()]
            print(f"{name:14s} {key:18s} mean {np.mean(means):.4f} min {np.mean(mins):.4f}", flush=True)


if __name__ == "__main__":
    main()
