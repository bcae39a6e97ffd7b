"""Judging a clustering against labels, done right.

k-means names its clusters 0..k-1 in an arbitrary order: cluster 3 is not "the threes". Comparing
cluster ids with labels directly (``unmatched_accuracy``) therefore measures nothing: a perfect
clustering whose names happen to be shuffled scores about 0%. The assignment did exactly that and
reported 6-7% "accuracy".

The fair comparisons, all invariant to renaming the clusters:

- ``hungarian_accuracy``: give each cluster the one label that makes the most points right, with
  no two clusters sharing a label (a maximum-weight matching on the contingency table, solved by the
  Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``), then count the points that are
  right. This is the "unsupervised clustering accuracy" of the DEC paper (Xie et al., 2016).
- NMI (normalised mutual information) and ARI (adjusted Rand index) from ``sklearn.metrics``:
  1.0 for a perfect clustering; about 0 for a random one (ARI can go slightly negative).

``cluster_scores`` runs k-means (``sklearn.cluster.KMeans``) on codes, as they are, standardised
(``standardize``: each unit to mean 0 / std 1) or whitened (``whiten``: PCA whitening), and reports
all of these.
``dead_units`` finds the latent units that are 0 for every input (a ReLU that never switches on).

Inputs may live on the device: they leave it through ``backend.to_numpy`` before scikit-learn or
SciPy see them.
"""

from __future__ import annotations

import contextlib

from scratchnet import backend

np = backend.np  # host NumPy: everything here works on host arrays

#: Threads scikit-learn's OpenMP/BLAS code may use in k-means and t-SNE. One is the right number on
#: a small shared machine: with more threads than free cores, OpenMP's busy-waiting made k-means 2-5x
#: and t-SNE over 10x slower in CPU time on our 2-core runners. ``None`` lets scikit-learn choose.
SKLEARN_THREADS = 1


def sklearn_threads():
    """Context manager limiting scikit-learn's native thread pools to ``SKLEARN_THREADS``."""
    if SKLEARN_THREADS is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits  # noqa: PLC0415  (installed with scikit-learn)

    return threadpool_limits(limits=SKLEARN_THREADS)


def _host_1d(values, name):
    array = backend.to_numpy(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def contingency(labels, clusters):
    """The table ``counts[i, j]`` = number of points with the i-th label and in the j-th cluster.

    Returns ``(counts, label_values, cluster_values)``: the sorted distinct labels and cluster ids
    that index the rows and the columns.
    """
    labels, clusters = _host_1d(labels, "labels"), _host_1d(clusters, "clusters")
    if labels.shape != clusters.shape:
        raise ValueError(f"labels has {labels.shape[0]} entries but clusters has {clusters.shape[0]}")
    label_values, label_index = np.unique(labels, return_inverse=True)
    cluster_values, cluster_index = np.unique(clusters, return_inverse=True)
    counts = np.zeros((len(label_values), len(cluster_values)), dtype=np.int64)
    np.add.at(counts, (label_index, cluster_index), 1)
    return counts, label_values, cluster_values


def hungarian_accuracy(labels, clusters):
    """Accuracy after matching clusters to labels one-to-one with the Hungarian algorithm.

    Returns ``(accuracy, mapping, matched_confusion)``:

    - ``accuracy``: fraction of points whose cluster is matched to their label (0 to 1);
    - ``mapping``: ``{cluster id: label}`` for every matched cluster (with more clusters than labels,
      the extra clusters are unmatched and their points count as wrong);
    - ``matched_confusion``: the contingency table with rows = labels (sorted) and columns = clusters
      reordered so that column i is the cluster matched to label i (unmatched clusters last, an
      all-zero column where a label got no cluster). Its diagonal holds the correctly placed points,
      so ``trace / total`` is the accuracy.
    """
    from scipy.optimize import linear_sum_assignment  # noqa: PLC0415  (optional: the "examples" extra)

    counts, label_values, cluster_values = contingency(labels, clusters)
    total = int(counts.sum())
    if total == 0:
        raise ValueError("hungarian_accuracy: no points")
    rows, cols = linear_sum_assignment(counts, maximize=True)
    mapping = {cluster_values[c].item(): label_values[r].item() for r, c in zip(rows, cols)}
    accuracy = float(counts[rows, cols].sum()) / total

    matched_column = dict(zip(rows.tolist(), cols.tolist()))  # label row -> its cluster column
    columns = [counts[:, matched_column[i]] if i in matched_column else np.zeros(len(label_values), np.int64)
               for i in range(len(label_values))]
    leftover = sorted(set(range(len(cluster_values))) - set(cols.tolist()))
    columns += [counts[:, j] for j in leftover]
    matched_confusion = np.stack(columns, axis=1)
    return accuracy, mapping, matched_confusion


def unmatched_accuracy(labels, clusters) -> float:
    """Fraction of points whose raw cluster id equals their label: what the assignment computed.

    Meaningless for judging a clustering (cluster ids are arbitrary names): shown only to explain why.
    """
    labels, clusters = _host_1d(labels, "labels"), _host_1d(clusters, "clusters")
    if labels.shape != clusters.shape:
        raise ValueError(f"labels has {labels.shape[0]} entries but clusters has {clusters.shape[0]}")
    return float(np.mean(labels == clusters))


def standardize(codes):
    """Each column shifted to mean 0 and scaled to standard deviation 1 (constant columns only shifted)."""
    codes = backend.to_numpy(codes).astype(np.float64)
    std = codes.std(axis=0)
    return (codes - codes.mean(axis=0)) / np.where(std > 0, std, 1.0)


def whiten(codes, rtol=1e-6):
    """PCA whitening: the codes centred, rotated onto their principal axes and scaled to variance 1
    along each axis. Axes with (almost) no variance, such as those of dead units, are dropped (their
    singular value is below ``rtol`` times the largest).

    Like standardising, but along uncorrelated directions: k-means' Euclidean distance then weighs
    every independent direction of variation equally, and correlated units do not count twice.
    """
    codes = backend.to_numpy(codes).astype(np.float64)
    centred = codes - codes.mean(axis=0)
    u, singular, _ = np.linalg.svd(centred, full_matrices=False)
    keep = singular > rtol * singular[0] if singular.size and singular[0] > 0 else np.zeros(len(singular), bool)
    return u[:, keep] * np.sqrt(len(codes))


def cluster_scores(codes, labels, k=10, n_init=10, seed=0, standardize=False, whiten=False) -> dict:
    """k-means (``k`` clusters, best of ``n_init`` restarts, ``seed``) on ``codes`` (N, D), judged against ``labels``.

    ``standardize=True`` rescales every code dimension to mean 0 / std 1 first, so that no dimension
    dominates the distances just by having a larger range. ``whiten=True`` applies PCA whitening
    (``whiten()``) first instead. At most one of the two.

    Returns a dict: ``accuracy`` (Hungarian-matched), ``nmi``, ``ari``, ``unmatched_accuracy`` (raw ids,
    meaningless), ``mapping`` ({cluster: label}), ``matched_confusion`` and ``confusion`` (rows =
    labels; columns = matched clusters / raw cluster ids 0..k-1), ``clusters`` (each point's cluster
    id), ``inertia``, and the settings ``k``, ``n_init``, ``seed``, ``standardized``, ``whitened``.
    """
    from sklearn.cluster import KMeans  # noqa: PLC0415  (optional: the "examples" extra)
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: PLC0415

    codes = backend.to_numpy(codes)
    labels = _host_1d(labels, "labels")
    if codes.ndim != 2 or codes.shape[0] != labels.shape[0]:
        raise ValueError(f"codes must be (N, D) with N = len(labels) = {labels.shape[0]}, got shape {codes.shape}")
    if standardize and whiten:
        raise ValueError("cluster_scores: choose standardize or whiten, not both")
    data = _standardize(codes) if standardize else _whiten(codes) if whiten else codes.astype(np.float64)
    if data.shape[1] == 0:  # whitening constant codes leaves nothing: every point is the same
        data = np.zeros((len(data), 1))
    with sklearn_threads():
        kmeans = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(data)
    clusters = kmeans.labels_
    accuracy, mapping, matched = hungarian_accuracy(labels, clusters)
    label_values, label_index = np.unique(labels, return_inverse=True)
    raw = np.zeros((len(label_values), k), dtype=np.int64)  # rows: sorted labels; columns: cluster ids 0..k-1
    np.add.at(raw, (label_index, clusters), 1)
    return {
        "accuracy": accuracy,
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "ari": float(adjusted_rand_score(labels, clusters)),
        "unmatched_accuracy": unmatched_accuracy(labels, clusters),
        "mapping": mapping,
        "matched_confusion": matched,
        "confusion": raw,
        "clusters": clusters,
        "inertia": float(kmeans.inertia_),
        "k": k,
        "n_init": n_init,
        "seed": seed,
        "standardized": bool(standardize),
        "whitened": bool(whiten),
    }


_standardize, _whiten = standardize, whiten  # cluster_scores' keywords shadow the functions' names


def dead_units(codes, tol=0.0):
    """Indices (ascending, a host int array) of the code dimensions whose |value| <= ``tol`` for every row.

    With a ReLU on the latent layer, such a unit is "dead": its pre-activation is negative for every
    input, so it carries no information and (its gradient being 0) never recovers.
    """
    codes = backend.to_numpy(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must be (N, D), got shape {codes.shape}")
    if codes.shape[0] == 0:
        return np.arange(0)
    return np.flatnonzero(np.all(np.abs(codes) <= tol, axis=0))


def active_fraction(codes):
    """For each code dimension, the fraction of rows where it is > 0 (a ReLU unit that is "on")."""
    codes = backend.to_numpy(codes)
    return (codes > 0).mean(axis=0)
