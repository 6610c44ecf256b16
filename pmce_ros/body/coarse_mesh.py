"""The 431-vertex coarse mesh PMCE's decoder works on, and the joint each coarse vertex starts from.

The release takes the coarse vertices as a subset of the 6890 body vertices (GraphCMR's downsampling matrices,
6890 -> 1723 -> 431, every row one-hot) and starts each at its nearest Human3.6M template joint.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse

from pmce_ros.body.safe_pickle import load_npz_with_objects


@dataclass(frozen=True)
class CoarseMesh:
    vertex_indices: np.ndarray  # (431,) indices of the coarse vertices among the full mesh's vertices
    vertices: np.ndarray  # (431, 3) their template positions
    vertex_joint_index: np.ndarray  # (431,) nearest Human3.6M-17 template joint of each coarse vertex


def load_downsampling_matrices(path: str | Path) -> list:
    """The `D` matrices (scipy sparse) of a GraphCMR-format mesh_downsampling.npz, read without allow_pickle."""
    content = load_npz_with_objects(path)
    if "D" not in content:
        raise ValueError(f"{path} has no 'D' (downsampling matrices); keys: {sorted(content)}")
    return list(content["D"])


def downsample(vertices: np.ndarray, matrices: list) -> np.ndarray:
    """Applies the downsampling matrices in order, as the release does for its mean mesh."""
    for matrix in matrices:
        vertices = matrix @ vertices
    return np.asarray(vertices)


def selected_vertices(matrices: list) -> np.ndarray:
    """Which full-mesh vertex each coarse vertex is, for one-hot downsampling rows (raises otherwise)."""
    composed = scipy.sparse.csr_matrix(matrices[0])
    for matrix in matrices[1:]:
        composed = scipy.sparse.csr_matrix(matrix) @ composed
    composed.eliminate_zeros()
    if not (np.all(np.diff(composed.indptr) == 1) and np.allclose(composed.data, 1.0)):
        raise ValueError("downsampling rows are not one-hot: coarse vertices are not a subset of the mesh")
    return composed.indices.copy()


def nearest_joint_index(joints: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Index of the nearest joint (squared Euclidean distance, first on ties) for every vertex."""
    distances = ((vertices[:, None, :] - joints[None, :, :]) ** 2).sum(-1)
    return distances.argmin(axis=1)


def coarse_mesh_from_authors_files(
    mean_vertices: str | Path, downsampling: str | Path, h36m_regressor: str | Path
) -> CoarseMesh:
    """From the release's assets: smpl_mean_vertices.npy, mesh_downsampling.npz, J_regressor_h36m_correct.npy.

    For the COCO-19 checkpoints the returned indices are Human3.6M joint numbers that the release applies to
    COCO-ordered joints; pass them to PMCE unchanged to reproduce its numbers.
    """
    template = np.load(mean_vertices, allow_pickle=False).astype(np.float32)
    matrices = load_downsampling_matrices(downsampling)[:2]
    coarse = downsample(template, matrices).astype(np.float32)
    joints = np.load(h36m_regressor, allow_pickle=False).astype(np.float32) @ template
    return CoarseMesh(selected_vertices(matrices), coarse, nearest_joint_index(joints, coarse))


def coarse_mesh_for_body(template: np.ndarray, vertex_indices: np.ndarray, h36m_regressor: np.ndarray) -> CoarseMesh:
    """The same construction for any SMPL-format body: a chosen vertex subset and its Human3.6M regressor."""
    coarse = template[vertex_indices]
    return CoarseMesh(np.asarray(vertex_indices), coarse, nearest_joint_index(h36m_regressor @ template, coarse))
