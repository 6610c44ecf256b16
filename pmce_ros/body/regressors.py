"""Geometry every SMPL-format body is built with: joint regressors from vertices, and an even vertex subset."""

import numpy as np
import scipy.optimize


def _regressor_row(vertices: np.ndarray, target: np.ndarray, neighbours: int = 256) -> np.ndarray:
    """Non-negative weights summing to one over nearby vertices whose weighted mean is `target` (as close as the
    vertices' convex hull allows): how SMPL-style regressors behave."""
    nearest = np.argsort(np.linalg.norm(vertices - target, axis=1))[:neighbours]
    system = np.vstack([vertices[nearest].T, 10 * np.ones(neighbours)])
    weights, _ = scipy.optimize.nnls(system, np.append(target, 10.0))
    row = np.zeros(len(vertices))
    row[nearest] = weights / weights.sum()
    return row


def vertex_regressor(vertices: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(J, V): one row per target point (J, 3), each a convex combination of nearby vertices (V, 3)."""
    return np.stack([_regressor_row(vertices, target) for target in targets])


def farthest_points(vertices: np.ndarray, count: int) -> np.ndarray:
    """Sorted indices of `count` vertices spread evenly: each the farthest from those chosen before, starting at
    the top (largest y)."""
    chosen = [int(np.argmax(vertices[:, 1]))]
    distance = np.linalg.norm(vertices - vertices[chosen[0]], axis=1)
    for _ in range(count - 1):
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(vertices - vertices[chosen[-1]], axis=1))
    return np.sort(np.array(chosen))
