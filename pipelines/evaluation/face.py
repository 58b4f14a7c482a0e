"""Face verification and identification metrics from embeddings of unseen identities.

    pairs = balanced_pairs(labels, seed)             # every same-identity pair + as many random others
    threshold = best_threshold(distances, same)      # chosen on dev, then frozen
    verification(distances, same, threshold)         # accuracy, ROC AUC, TAR at FAR = 1e-3
    identification_top1(embeddings, labels)          # one enrolled image per identity, the rest probe

Distances are Euclidean between unit-norm embeddings (0 = same direction, 2 = opposite), the unit
the service reports.
"""

from __future__ import annotations

import numpy as np


def distances(emb: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    return np.linalg.norm(emb[i] - emb[j], axis=1)


def balanced_pairs(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, same): every pair of images of one identity, and as many pairs of different identities
    drawn at random (seeded), so chance accuracy is 0.5."""
    labels = np.asarray(labels)
    i, j = np.triu_indices(len(labels), k=1)
    same = labels[i] == labels[j]
    pos_i, pos_j = i[same], j[same]
    rng = np.random.default_rng(seed)
    n = len(pos_i)
    neg_i, neg_j = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    while len(neg_i) < n:  # rejection sampling: most random pairs are of different identities
        a, b = rng.integers(len(labels), size=(2, 2 * n + 16))
        keep = labels[a] != labels[b]
        neg_i, neg_j = np.concatenate([neg_i, a[keep]]), np.concatenate([neg_j, b[keep]])
    neg_i, neg_j = neg_i[:n], neg_j[:n]
    return (np.concatenate([pos_i, neg_i]), np.concatenate([pos_j, neg_j]),
            np.concatenate([np.ones(n, bool), np.zeros(n, bool)]))


def best_threshold(dist: np.ndarray, same: np.ndarray) -> float:
    """The distance threshold (``match = dist <= threshold``) with the best accuracy, midway between
    the two neighbouring distances so it does not sit on one sample."""
    order = np.argsort(dist)
    d, s = dist[order], same[order]
    # accuracy when the first k sorted pairs are called "same": positives among them + negatives after
    correct = np.concatenate([[0], np.cumsum(s)]) + (np.sum(~s) - np.concatenate([[0], np.cumsum(~s)]))
    k = int(np.argmax(correct))
    if k == 0:
        return float(d[0] / 2)
    if k == len(d):
        return float(d[-1] + 1e-6)
    return float((d[k - 1] + d[k]) / 2)


def roc_auc(dist: np.ndarray, same: np.ndarray) -> float:
    """P(a random same pair is closer than a random different pair) (ties count a half)."""
    score = -np.asarray(dist, dtype=np.float64)  # small distance = high score
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ranks = (np.bincount(inverse, ranks) / counts)[inverse]  # tied scores share their mean rank
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    return float((ranks[same].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def tar_at_far(dist: np.ndarray, same: np.ndarray, far: float = 1e-3) -> tuple[float, float]:
    """(true accept rate, its threshold) at the largest threshold whose false accept rate is <= ``far``."""
    neg = np.sort(dist[~same])
    k = int(np.floor(far * len(neg)))  # at most k impostor pairs may fall at or below the threshold
    threshold = float(neg[k] - 1e-9) if k < len(neg) else float(neg[-1])
    return float(np.mean(dist[same] <= threshold)), threshold


def verification(dist: np.ndarray, same: np.ndarray, threshold: float) -> dict[str, float]:
    match = dist <= threshold
    return {"verification_accuracy": float(np.mean(match == same)),
            "true_accept_rate": float(np.mean(match[same])), "false_accept_rate": float(np.mean(match[~same]))}


def identification_top1(emb: np.ndarray, labels: np.ndarray, enrolled_index: int = 0) -> float:
    """One-shot identification: each identity's ``enrolled_index``-th image is its gallery entry; every
    other image is a probe, correct when its nearest gallery entry is its own identity."""
    labels = np.asarray(labels)
    ids = np.unique(labels)
    gallery = np.array([np.flatnonzero(labels == k)[enrolled_index] for k in ids])
    probes = np.setdiff1d(np.arange(len(labels)), gallery)
    d = np.linalg.norm(emb[probes, None, :] - emb[None, gallery, :], axis=2)
    return float(np.mean(ids[d.argmin(1)] == labels[probes]))
