"""Body layer: SMPL-format files, the synthetic stand-in body, the coarse mesh, joint sets."""

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
import torch

from pmce_ros.body.anny_body import ANNY_BODY_NAME
from pmce_ros.body.body_model import GENERATED_BODIES, load_body
from pmce_ros.body.coarse_mesh import coarse_mesh_from_authors_files, nearest_joint_index
from pmce_ros.body.joint_sets import COCO17, COCO19, H36M17, SMPL24, coco17_to_coco19, shared_joints
from pmce_ros.body.safe_pickle import load_pickle
from pmce_ros.body.smpl_files import convert_pkl_to_npz, load_model_arrays, load_smpl, smpl_from_arrays
from pmce_ros.body.synthetic import STAND_IN_NAME, make_synthetic_body


@pytest.fixture(scope="module")
def body():
    return make_synthetic_body()


@pytest.fixture(scope="module", params=sorted(GENERATED_BODIES))
def generated_body(request):
    """Each body the package makes without a user's file: the synthetic stand-in and the one made from Anny."""
    return load_body(generated=request.param)


# --- generated bodies -----------------------------------------------------------------------------------------


def test_generated_bodies_have_smpl_format_and_topology(generated_body):
    body = generated_body
    m = body.model
    assert m["v_template"].shape == (6890, 3) and m["f"].shape == (13776, 3)
    assert m["shapedirs"].shape == (6890, 3, 10) and m["posedirs"].shape == (6890, 3, 207)
    assert m["J_regressor"].shape == (24, 6890) and m["weights"].shape == (6890, 24)
    assert list(m["kintree_table"][0, 1:]) == list(SMPL24.parents[1:])
    np.testing.assert_allclose(m["weights"].sum(1), 1, atol=1e-9)
    for regressor in (m["J_regressor"], body.h36m_regressor, body.coco_regressor):
        np.testing.assert_allclose(regressor.sum(1), 1, atol=1e-9)
        assert regressor.min() >= 0
    # A closed surface of genus 0: every edge in exactly two triangles, Euler characteristic 2.
    edges = np.sort(m["f"][:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, uses = np.unique(edges, axis=0, return_counts=True)
    assert set(uses) == {2}
    assert 6890 - len(uses) + 13776 == 2
    assert body.name in (STAND_IN_NAME, ANNY_BODY_NAME) and "not SMPL" in body.name and body.stand_in


def test_synthetic_body_is_deterministic(body):
    again = make_synthetic_body()
    for key, value in body.model.items():
        np.testing.assert_array_equal(again.model[key], value)
    np.testing.assert_array_equal(again.coarse.vertex_joint_index, body.coarse.vertex_joint_index)


def test_generated_bodies_look_like_a_person(generated_body):
    body = generated_body
    v = body.model["v_template"]
    height = v[:, 1].max() - v[:, 1].min()
    width = v[:, 0].max() - v[:, 0].min()  # hand to hand, arms down in an A-pose
    depth = v[:, 2].max() - v[:, 2].min()
    assert 1.5 < height < 1.9 and 0.9 < width < 1.6 and depth < 0.5
    joints = body.h36m_regressor @ v
    names = {n: joints[i] for i, n in enumerate(H36M17.names)}
    assert names["head"][1] > names["neck"][1] > names["pelvis"][1] > names["left_knee"][1] > names["left_ankle"][1]
    assert names["left_wrist"][0] > 0.4 and names["right_wrist"][0] < -0.4  # SMPL: the body's left is +x
    assert names["nose"][2] > names["head"][2] - 0.05  # it faces +z
    # Not a blob: the space between the legs below the crotch is empty.
    legs = v[v[:, 1] < -0.4]
    assert not np.any(np.abs(legs[:, 0]) < 0.03)


def rotation(axis, degrees):
    return torch.tensor(axis, dtype=torch.float32) / np.linalg.norm(axis) * np.radians(degrees)


def test_generated_bodies_posed_by_smplx_move_the_right_limbs(generated_body):
    body = generated_body
    smpl = smpl_from_arrays(body.model)
    rest = smpl().vertices[0].detach().numpy()
    pose = torch.zeros(1, 23, 3)
    pose[0, SMPL24.index("left_elbow") - 1] = rotation([0, 1, 0], 90)
    moved = np.linalg.norm(smpl(body_pose=pose.reshape(1, 69)).vertices[0].detach().numpy() - rest, axis=1)
    weights = body.model["weights"]
    forearm = weights[:, [SMPL24.index(n) for n in ("left_elbow", "left_wrist", "left_hand")]].sum(1) > 0.9
    right_side_and_legs = (body.model["v_template"][:, 0] < -0.05) | (body.model["v_template"][:, 1] < -0.2)
    assert np.median(moved[forearm]) > 0.1
    assert moved[right_side_and_legs].max() < 1e-3

    pose = torch.zeros(1, 23, 3)
    pose[0, SMPL24.index("right_knee") - 1] = rotation([1, 0, 0], 90)
    posed = smpl(body_pose=pose.reshape(1, 69)).vertices[0].detach().numpy()
    right_foot = weights[:, SMPL24.index("right_ankle")] + weights[:, SMPL24.index("right_foot")] > 0.9
    assert np.median(np.linalg.norm(posed - rest, axis=1)[right_foot]) > 0.2
    # Bending the knee by 90 degrees about +x swings the lower leg backwards (-z) and up.
    assert posed[right_foot, 2].mean() < rest[right_foot, 2].mean() - 0.2


def test_the_anny_bodys_joints_regressed_from_a_posed_mesh_stay_at_its_joints():
    """Squatting, reaching, hands above the head (poses no regressor was fitted on): Human3.6M hips, knees,
    ankles, elbows and wrists regressed from the skinned mesh stay within 2 cm of the joints the pose turns; a
    regressor fitted in the rest pose alone left a squatting knee 20 cm behind."""
    body = load_body(generated="anny")
    poses = np.zeros((3, 24, 3))
    for side in ("left", "right"):
        poses[0, SMPL24.index(f"{side}_hip")] = [-1.6, 0.0, 0.0]  # a squat
        poses[0, SMPL24.index(f"{side}_knee")] = [2.2, 0.0, 0.0]
    poses[1, SMPL24.index("left_shoulder")] = [0.0, 0.9, 0.3]  # reaching forward
    poses[1, SMPL24.index("left_elbow")] = [0.0, -1.8, 0.0]
    poses[2, SMPL24.index("right_shoulder")] = [0.0, 0.0, 1.4]  # a hand above the head
    poses[2, SMPL24.index("right_elbow")] = [0.0, 1.2, 0.0]
    layer = smpl_from_arrays(body.model, batch_size=3)
    out = layer(global_orient=torch.zeros(3, 3), body_pose=torch.from_numpy(poses[:, 1:].reshape(3, -1)).float())
    kinematic, vertices = out.joints[:, :24].detach().numpy(), out.vertices.detach().numpy()
    regressed = np.einsum("jv,kvc->kjc", body.h36m_regressor, vertices)
    for side in ("left", "right"):
        for joint in ("hip", "knee", "ankle", "elbow", "wrist"):
            name = f"{side}_{joint}"
            error = np.linalg.norm(regressed[:, H36M17.index(name)] - kinematic[:, SMPL24.index(name)], axis=-1)
            assert error.max() < 0.02, (name, error)


def test_shape_blend_shapes_change_the_body(generated_body):
    """Some shape direction changes stature by more than 5 cm at two standard deviations (the stand-in's first is
    stature by construction; the Anny body's come from a principal component analysis of its phenotypes)."""
    smpl = smpl_from_arrays(generated_body.model)
    rest = np.ptp(smpl().vertices[0, :, 1].detach().numpy())
    statures = [np.ptp(smpl(betas=2.0 * torch.eye(10)[[k]]).vertices[0, :, 1].detach().numpy()) for k in range(10)]
    assert max(abs(np.array(statures) - rest)) > 0.05


def test_coarse_mesh_of_the_generated_bodies(generated_body):
    body = generated_body
    coarse = body.coarse
    assert coarse.vertices.shape == (431, 3) and len(np.unique(coarse.vertex_indices)) == 431
    np.testing.assert_array_equal(coarse.vertices, body.model["v_template"][coarse.vertex_indices])
    assert set(np.unique(coarse.vertex_joint_index)) == set(range(17))  # every joint starts some vertices


# --- SMPL files -----------------------------------------------------------------------------------------------


@pytest.fixture
def chumpy_stand_in(monkeypatch):
    """Classes named like chumpy's, so that pickles look like the official SMPL files (chumpy cannot install)."""
    package, module = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x
            self._dirty_vars = set()

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    module.Ch = Ch
    package.ch = module
    monkeypatch.setitem(sys.modules, "chumpy", package)
    monkeypatch.setitem(sys.modules, "chumpy.ch", module)
    return Ch


def official_style_pkl(body, Ch, path):
    m = body.model
    content = {
        "v_template": Ch(m["v_template"]),
        "shapedirs": Ch(m["shapedirs"]),
        "posedirs": m["posedirs"],
        "J_regressor": scipy.sparse.csc_matrix(m["J_regressor"]),
        "weights": Ch(m["weights"]),
        "kintree_table": m["kintree_table"],
        "f": m["f"].astype(np.uint32),
        "bs_type": "lrotmin",
        "J": Ch(m["J_regressor"] @ m["v_template"]),
        "vert_sym_idxs": np.arange(6890),
    }
    path.write_bytes(pickle.dumps(content, protocol=2))
    return path


def test_official_pkl_without_chumpy_round_trips_through_npz(body, chumpy_stand_in, tmp_path):
    pkl = official_style_pkl(body, chumpy_stand_in, tmp_path / "SMPL_NEUTRAL.pkl")
    from_pkl = load_model_arrays(pkl)
    for key, value in body.model.items():
        np.testing.assert_array_equal(from_pkl[key], value)
    npz = convert_pkl_to_npz(pkl, tmp_path / "SMPL_NEUTRAL.npz")
    with np.load(npz, allow_pickle=False) as content:  # loads without any unpickling
        assert set(content.files) >= {"v_template", "J_regressor", "f"}
    pose = torch.zeros(1, 69)
    pose[0, 3 * 17] = 0.8
    a = load_smpl(pkl)(body_pose=pose).vertices
    b = load_smpl(npz)(body_pose=pose).vertices
    torch.testing.assert_close(a, b, rtol=0, atol=0)


class Exploit:
    def __reduce__(self):
        return (exec, ("raise SystemExit('executed')",))


def test_restricted_unpickler_executes_nothing(tmp_path):
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load (__builtin__|builtins)\.exec"):
        load_pickle(pickle.dumps({"v_template": Exploit()}, protocol=2))
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(["not", "a", "model"]))
    with pytest.raises(ValueError, match="dict"):
        load_model_arrays(path)


def test_missing_arrays_are_named(body, tmp_path):
    arrays = dict(body.model)
    del arrays["posedirs"]
    np.savez(tmp_path / "partial.npz", **arrays)
    with pytest.raises(ValueError, match="posedirs"):
        load_model_arrays(tmp_path / "partial.npz")


# --- coarse mesh from the authors' assets ---------------------------------------------------------------------


def write_authors_assets(directory, template, rng):
    """mean vertices, GraphCMR-layout mesh_downsampling.npz (object arrays of scipy matrices), H36M regressor."""
    first = np.sort(rng.choice(6890, 1723, replace=False))
    second = np.sort(rng.choice(1723, 431, replace=False))
    d1 = scipy.sparse.csr_matrix((np.ones(1723), (np.arange(1723), first)), shape=(1723, 6890))
    d2 = scipy.sparse.csr_matrix((np.ones(431), (np.arange(431), second)), shape=(431, 1723))
    objects = {}
    for name, items in {
        "A": [scipy.sparse.eye(n, format="csr") for n in (6890, 1723, 431)],
        "U": [d1.T.tocsr(), d2.T.tocsr()],
        "D": [d1, d2],
    }.items():
        objects[name] = np.empty(len(items), dtype=object)
        objects[name][:] = items
    np.savez(directory / "mesh_downsampling.npz", **objects)
    np.save(directory / "smpl_mean_vertices.npy", template.astype(np.float32))
    regressor = np.abs(rng.normal(size=(17, 6890)))
    np.save(directory / "J_regressor_h36m_correct.npy", regressor / regressor.sum(1, keepdims=True))
    return first[second]


def test_coarse_mesh_from_authors_files(body, tmp_path):
    rng = np.random.default_rng(5)
    template = body.model["v_template"]
    expected_indices = write_authors_assets(tmp_path, template, rng)
    coarse = coarse_mesh_from_authors_files(
        tmp_path / "smpl_mean_vertices.npy",
        tmp_path / "mesh_downsampling.npz",
        tmp_path / "J_regressor_h36m_correct.npy",
    )
    np.testing.assert_array_equal(coarse.vertex_indices, expected_indices)
    np.testing.assert_allclose(coarse.vertices, template[expected_indices].astype(np.float32))
    joints = np.load(tmp_path / "J_regressor_h36m_correct.npy") @ template.astype(np.float32)
    brute_force = [int(np.argmin([np.sum((v - j) ** 2) for j in joints])) for v in coarse.vertices]
    np.testing.assert_array_equal(coarse.vertex_joint_index, brute_force)


def test_nearest_joint_index_takes_the_first_on_ties():
    joints = np.array([[0.0, 0, 0], [2.0, 0, 0]])
    np.testing.assert_array_equal(nearest_joint_index(joints, np.array([[1.0, 0, 0], [1.9, 0, 0]])), [0, 1])


# --- joint sets -----------------------------------------------------------------------------------------------


def test_joint_sets_and_conversions():
    assert len(COCO17) == 17 and len(COCO19) == 19 and len(H36M17) == 17 and len(SMPL24) == 24
    for joint_set in (COCO17, COCO19, H36M17, SMPL24):
        assert all(0 <= p < len(joint_set) for edge in joint_set.edges for p in edge)
        assert len(joint_set.edges) == len(joint_set) - list(joint_set.parents).count(-1)
    keypoints = np.random.default_rng(0).uniform(size=(4, 17, 3))
    coco19 = coco17_to_coco19(keypoints)
    np.testing.assert_allclose(coco19[:, :17], keypoints)
    np.testing.assert_allclose(coco19[:, COCO19.index("pelvis")], keypoints[:, [11, 12]].mean(1))
    np.testing.assert_allclose(coco19[:, COCO19.index("neck")], keypoints[:, [5, 6]].mean(1))
    with pytest.raises(ValueError):
        coco17_to_coco19(keypoints[:, :16])
    source, target = shared_joints(COCO19, H36M17)
    assert [COCO19.names[i] for i in source] == [H36M17.names[j] for j in target]
    assert "pelvis" in [COCO19.names[i] for i in source]
