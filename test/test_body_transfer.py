"""Moving trained PMCE weights to another body (pmce_ros/training/body_transfer.py)."""

import dataclasses

import numpy as np
import torch
from scipy.spatial import cKDTree

from pmce_ros.body.body_model import BodyModel, load_body
from pmce_ros.body.coarse_mesh import coarse_mesh_for_body
from pmce_ros.model import PMCE
from pmce_ros.model.config import PMCEConfig
from pmce_ros.training.body_transfer import (
    _rest_vertices_in_pose_of,
    transfer_decoder_state,
    vertex_correspondence,
)

CONFIG = PMCEConfig(image_stream=False, lifter_dim=32, lifter_heads=4, upsample_kernel=1, fast=True)


def _reordered(body: BodyModel, order: np.ndarray, coarse_order: np.ndarray) -> BodyModel:
    """The same body with its vertices listed in `order` (new vertex i is old vertex order[i]) and its coarse
    vertices in `coarse_order`: a body whose vertices do not correspond by index to the original's."""
    rank = np.argsort(order)
    model = dict(body.model)
    for key in ("v_template", "shapedirs", "posedirs", "weights"):
        model[key] = body.model[key][order]
    model["J_regressor"] = body.model["J_regressor"][:, order]
    model["f"] = rank[body.model["f"]]
    h36m = body.h36m_regressor[:, order]
    coarse = coarse_mesh_for_body(model["v_template"], rank[body.coarse.vertex_indices][coarse_order], h36m)
    return dataclasses.replace(body, model=model, h36m_regressor=h36m, coarse=coarse, coco_regressor=None)


def _model(body: BodyModel, seed: int) -> PMCE:
    torch.manual_seed(seed)
    return PMCE(CONFIG, body.coarse.vertex_joint_index, body.coarse.vertices).eval()


def test_weights_moved_to_a_reordered_body_draw_the_same_mesh():
    source = load_body()
    generator = np.random.default_rng(0)
    order = generator.permutation(source.num_vertices)
    coarse_order = generator.permutation(len(source.coarse.vertex_indices))
    target = _reordered(source, order, coarse_order)
    coarse, mesh = vertex_correspondence(source, target)
    np.testing.assert_array_equal(mesh, order)
    np.testing.assert_array_equal(coarse, coarse_order)

    trained = _model(source, 0)
    moved = _model(target, 1)
    moved.load_state_dict(transfer_decoder_state(trained.state_dict(), source, target))
    pose2d = torch.rand(2, CONFIG.num_frames, CONFIG.num_joints, 2)
    with torch.no_grad():
        vertices, joints = trained(pose2d)[:2]
        moved_vertices, moved_joints = moved(pose2d)[:2]
    torch.testing.assert_close(moved_joints, joints)
    torch.testing.assert_close(moved_vertices, vertices[:, order])
    # Copied by index, as before this existed, the same weights draw another surface.
    naive = _model(target, 1)
    naive.load_state_dict(trained.state_dict())
    with torch.no_grad():
        assert (naive(pose2d)[0] - vertices[:, order]).norm(dim=-1).mean() > 0.05


def test_stand_in_to_anny_pairs_every_coarse_vertex_once_and_nearby():
    source, target = load_body(), load_body(generated="anny")
    coarse, mesh = vertex_correspondence(source, target)
    assert sorted(coarse) == list(range(len(source.coarse.vertex_indices)))
    assert mesh.shape == (target.num_vertices,) and mesh.max() < source.num_vertices
    height = np.ptp(target.model["v_template"][:, 1])
    target_posed, source_rest = _rest_vertices_in_pose_of(target, source), _rest_vertices_in_pose_of(source, source)
    paired = np.linalg.norm(
        target_posed[target.coarse.vertex_indices] - source_rest[source.coarse.vertex_indices][coarse], axis=-1
    )
    nearest = np.linalg.norm(target_posed - source_rest[mesh], axis=-1)
    source_coarse = source_rest[source.coarse.vertex_indices]
    spacing = np.median(cKDTree(source_coarse).query(source_coarse, k=2)[0][:, 1])
    assert np.median(paired) < 1.5 * spacing
    # At rest the two bodies' arms differ by 26 cm at the 90th percentile: without posing one into the other's
    # rest pose a hand takes the parameters of a hip.
    assert np.percentile(nearest, 90) * height < 0.10  # metres on the Anny body
