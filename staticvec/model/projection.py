"""2-D maps of word vectors: principal component analysis in float64, made deterministic.

The picture of a few words is their unit vectors projected on the first two principal
components of those same words (centred), so the map shows how the chosen words differ,
not where they sit in the whole space. Each axis is signed so that its largest loading
is positive: the same words give the same picture on every run and machine.
"""
import numpy as np


def pca_2d(rows):
    """(N x 2 coordinates, share of the variance each of the two axes explains) of
    ``rows`` (N x d, N >= 2), centred; float64 throughout."""
    x = np.asarray(rows, dtype=np.float64)
    centred = x - x.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    for k in range(len(axes)):
        if axes[k][np.argmax(np.abs(axes[k]))] < 0:
            axes[k] = -axes[k]
    coords = centred @ axes.T
    if coords.shape[1] < 2:  # two words in one dimension: a flat second axis
        coords = np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]))])
    power = singular ** 2
    shares = power / power.sum() if power.sum() > 0 else power
    return coords, [float(s) for s in list(shares[:2]) + [0.0] * (2 - len(shares[:2]))]
