"""Starting PMCE on a new SMPL-format body from weights trained on another whose vertices do not correspond.

The lifter reads no body and carries over as it is. In the mesh decoder some parameters belong to one coarse
vertex (three embeddings in each co-evolution block) and some to one mesh vertex (the upsampling's rows, the
context heads' outputs). Copied by index they would belong to unrelated parts of the new body: fine-tuned from
such a start for 6 epochs, the Anny body's held-out PVE was still 220 mm against the stand-in's 132. Here each
new coarse vertex takes the parameters of the old coarse vertex it is paired with (a one-to-one assignment of
least summed distance) and each new mesh vertex those of its nearest old one, with the new body skinned into the
old one's rest pose, pelvis on pelvis and scaled to the same height. The network then draws the old body's
surface through the new body's vertices, and fine-tuning has only the shape to learn.
"""

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from pmce_ros.body.body_model import BodyModel

DECODER = "pose_mesh_coevo."
COARSE_VERTEX_EMBEDDINGS = ("vertx_pos_embed", "v_Q_embed", "v2j_K_embed")  # (1, coarse, dim) per block
MESH_VERTEX_HEADS = ("linear_cur1", "linear_cur2", "linear_cur3")  # (vertices, context) rows


def _rotation_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction `start` to direction `end`."""
    start, end = start / np.linalg.norm(start), end / np.linalg.norm(end)
    axis, cosine = np.cross(start, end), float(start @ end)
    if np.linalg.norm(axis) < 1e-9:
        return np.eye(3) if cosine > 0 else -np.eye(3)
    skew = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + skew + skew @ skew / (1 + cosine)


def _rest_vertices_in_pose_of(body: BodyModel, reference: BodyModel) -> np.ndarray:
    """`body`'s rest vertices skinned so that each of its bones points as `reference`'s does at rest (the two
    rest poses differ: one body's arms may be raised, the other's lowered), then put pelvis at the origin and
    scaled to unit height."""
    parents = body.model["kintree_table"][0].astype(int)
    joints, reference_joints = body.rest_joints, reference.rest_joints
    children = {k: [c for c in range(len(parents)) if parents[c] == k] for k in range(len(parents))}
    rotations, placed = np.zeros((len(parents), 3, 3)), joints.copy()
    for k in range(len(parents)):  # SMPL lists every parent before its children
        parent = parents[k] if k else None
        if parent is not None:
            placed[k] = rotations[parent] @ (joints[k] - joints[parent]) + placed[parent]
        if len(children[k]) == 1:
            child = children[k][0]
            rotations[k] = _rotation_between(joints[child] - joints[k], reference_joints[child] - reference_joints[k])
        else:  # the pelvis, the chest (several bones) and the ends of the limbs keep their parent's turn
            rotations[k] = np.eye(3) if parent is None else rotations[parent]
    rest = body.model["v_template"]
    per_joint = np.einsum("kab,vkb->vka", rotations, rest[:, None] - joints[None]) + placed[None]
    vertices = np.einsum("vk,vka->va", body.model["weights"], per_joint)
    return (vertices - placed[0]) / np.ptp(vertices[:, 1])


def vertex_correspondence(source: BodyModel, target: BodyModel) -> tuple[np.ndarray, np.ndarray]:
    """(coarse, mesh): for each coarse vertex of `target` the paired coarse vertex of `source` (a permutation),
    and for each mesh vertex of `target` the nearest mesh vertex of `source`."""
    source_rest = _rest_vertices_in_pose_of(source, source)
    target_rest = _rest_vertices_in_pose_of(target, source)
    source_coarse = source_rest[source.coarse.vertex_indices]
    target_coarse = target_rest[target.coarse.vertex_indices]
    if len(source_coarse) != len(target_coarse):
        raise ValueError(f"coarse meshes differ in size: {len(source_coarse)} and {len(target_coarse)} vertices")
    distances = np.linalg.norm(target_coarse[:, None] - source_coarse[None], axis=-1)
    _, coarse = linear_sum_assignment(distances)  # rows come back in order, each assigned once
    _, mesh = cKDTree(source_rest).query(target_rest)
    return coarse, mesh


def transfer_decoder_state(
    state: dict[str, torch.Tensor], source: BodyModel, target: BodyModel
) -> dict[str, torch.Tensor]:
    """A PMCE state dict trained on `source`, re-indexed for `target` (a new dict; the argument is unchanged)."""
    coarse, mesh = (torch.from_numpy(np.asarray(index, np.int64)) for index in vertex_correspondence(source, target))
    moved = dict(state)
    for key, value in state.items():
        if not key.startswith(DECODER):
            continue
        parts = key[len(DECODER) :].split(".")
        if parts[-1] in COARSE_VERTEX_EMBEDDINGS:
            moved[key] = value[:, coarse]
        elif parts[0] in MESH_VERTEX_HEADS:
            moved[key] = value[mesh]
        elif parts[0] == "upsample_conv":
            moved[key] = value[mesh][:, coarse] if parts[-1] == "weight" else value[mesh]
        elif parts[0] == "init_vertices":
            moved[key] = torch.as_tensor(target.coarse.vertices, dtype=value.dtype)
    return moved
