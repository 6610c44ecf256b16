"""Training data: mocap retargeting, the synthetic set, the authors' formats (on files written here), windows."""

import json
import sys

import joblib
import numpy as np
import pytest
import torch
from motion_files import asf_capture_as_bvh

from pmce_ros.body.body_model import load_body
from pmce_ros.body.joint_sets import COCO17, H36M17, SMPL24
from pmce_ros.body.smpl_files import smpl_from_arrays
from pmce_ros.perception.features import FeatureExtractor, FeatureExtractorConfig
from pmce_ros.training import acclaim, bvh, capture_set, clips, deepmimic, mocap, real_capture
from pmce_ros.training.authors_data import SPIN49_TO_H36M17, load_3dpw, load_h36m, load_mpii3d
from pmce_ros.training.joblib_files import load_joblib
from pmce_ros.training.real_capture import capture_joints
from pmce_ros.training.sequences import Sequence, WindowDataset, window_indices
from pmce_ros.training.synthetic_data import (
    SyntheticDataConfig,
    build_split,
    load_records,
    save_records,
    sequence_from_record,
)

RNG = np.random.default_rng(0)
# (SMPL joint, SMPL joint, source point, source point) of bones whose directions the retargeting copies.
DEEPMIMIC_LIMBS = (
    ("left_hip", "left_knee", "left_hip", "left_knee"),
    ("right_knee", "right_ankle", "right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow", "left_shoulder", "left_elbow"),
    ("right_elbow", "right_wrist", "right_elbow", "right_wrist"),
)
CMU_LIMBS = (
    ("left_hip", "left_knee", "lhipjoint", "lfemur"),
    ("right_knee", "right_ankle", "rfemur", "rtibia"),
    ("left_shoulder", "left_elbow", "lclavicle", "lhumerus"),
    ("right_elbow", "right_wrist", "rhumerus", "rradius"),
    ("spine3", "neck", "upperback", "thorax"),
)


@pytest.fixture(scope="module")
def body():
    return load_body()


@pytest.fixture(scope="module")
def features():
    return FeatureExtractor(FeatureExtractorConfig(allow_untrained=True))


def named_clip(name):
    return clips.load_clip(next(f for f in clips.clip_files() if clips.clip_name(f) == name))


def test_every_installed_clip_loads_at_30_fps():
    assert len(deepmimic.clip_files()) == 15
    names = [clips.clip_name(f) for f in clips.clip_files()]
    assert len(names) == 16 and names[-1] == "cmu_playground"
    walk = named_clip("walk")
    assert walk.fps == 30 and 30 <= len(walk) <= 45  # a 1.27 s gait cycle
    assert walk.root_position[:, 1].min() > 0.7  # the pelvis stays at standing height
    climb = named_clip("cmu_playground")
    assert 680 <= len(climb) <= 690  # 2,662 frames at 120 fps
    assert 0.7 < climb.root_position[:, 1].min() < climb.root_position[:, 1].max() < 1.6  # metres, not inches


def test_cmu_joints_bend_the_way_human_joints_do():
    """Acclaim's C M C^-1 convention read the wrong way round bends knees sideways; here they bend backwards,
    elbows forwards, and feet point forwards, in the pelvis's frame."""
    clip = named_clip("cmu_playground")
    points = mocap.source_joint_positions(clip)
    to_pelvis = clip.world_rotations["root"].inv()

    def bend(a, b, c):
        upper, lower = points[b] - points[a], points[c] - points[b]
        across = lower - (lower * upper).sum(1, keepdims=True) * upper / (upper**2).sum(1, keepdims=True)
        return to_pelvis.apply(across).mean(0)

    for side in "lr":
        assert bend(f"{side}hipjoint", f"{side}femur", f"{side}tibia")[2] < -0.1  # shin behind the thigh
        assert bend(f"{side}clavicle", f"{side}humerus", f"{side}radius")[2] > 0.05  # forearm in front
        foot = to_pelvis.apply(points[f"{side}foot"] - points[f"{side}tibia"]).mean(0)
        assert foot[2] > 0.5 * np.linalg.norm(foot)


@pytest.mark.parametrize("name,limbs", [("cartwheel", DEEPMIMIC_LIMBS), ("cmu_playground", CMU_LIMBS)])
def test_retargeted_limbs_point_where_the_source_limbs_point(body, name, limbs):
    clip = named_clip(name)
    pose, transl = mocap.retarget(clip, body.rest_joints)
    n = len(clip)
    layer = smpl_from_arrays(body.model, batch_size=n)
    # The kinematic joints (what the pose rotates), not joints regressed from the skinned surface.
    joints = (
        layer(global_orient=torch.from_numpy(pose[:, 0]), body_pose=torch.from_numpy(pose[:, 1:].reshape(n, -1)))
        .joints[:, :24]
        .detach()
        .numpy()
    )
    source = mocap.source_joint_positions(clip)
    for target_a, target_b, source_a, source_b in limbs:
        ours = joints[:, SMPL24.index(target_b)] - joints[:, SMPL24.index(target_a)]
        theirs = source[source_b] - source[source_a]
        cosine = (ours * theirs).sum(-1) / np.linalg.norm(ours, axis=-1) / np.linalg.norm(theirs, axis=-1)
        assert np.degrees(np.arccos(np.clip(cosine, -1, 1))).max() < 0.5, (target_a, target_b)
    assert pose.shape == (n, 24, 3) and transl.shape == (n, 3)
    if name == "cartwheel":  # a cartwheel turns the body upside down: the head goes below the pelvis
        head_height = joints[:, SMPL24.index("head"), 1] - joints[:, 0, 1]
        assert head_height.max() > 0.3 and head_height.min() < -0.3


def test_bad_acclaim_files_are_refused_with_a_reason(tmp_path):
    installed = next(f for f in clips.clip_files() if acclaim.is_clip(f))
    asf_text = installed.with_suffix(".asf").read_text(errors="replace")
    amc_lines = installed.read_text(errors="replace").splitlines()[:200]
    (tmp_path / "lonely.amc").write_text("\n".join(amc_lines))
    with pytest.raises(FileNotFoundError, match=r"its skeleton \(lonely.asf\) is not beside it"):
        acclaim.load_clip(tmp_path / "lonely.amc")
    (tmp_path / "unknown.asf").write_text(asf_text.replace("lwrist lhand lthumb", "lwrist lhand lthumb lsixth"))
    (tmp_path / "unknown.amc").write_text("\n".join(amc_lines))
    with pytest.raises(ValueError, match="names bone 'lsixth'"):
        acclaim.load_clip(tmp_path / "unknown.amc")
    before, _, after = asf_text.replace("    lhipjoint lfemur\n", "").rpartition("end")  # the hierarchy's end
    (tmp_path / "unordered.asf").write_text(before + "lhipjoint lfemur\n  end" + after)  # lfemur after its child
    (tmp_path / "unordered.amc").write_text("\n".join(amc_lines))
    with pytest.raises(ValueError, match="lists 'lfemur''s children before 'lfemur' itself"):
        acclaim.load_clip(tmp_path / "unordered.amc")
    (tmp_path / "short.asf").write_text(asf_text)
    (tmp_path / "short.amc").write_text("\n".join(amc_lines).replace("ltibia ", "ltibia 1.0 ", 1))
    with pytest.raises(ValueError, match="'ltibia' expects 1 values per frame"):
        acclaim.load_clip(tmp_path / "short.amc")
    (tmp_path / "not_asf.asf").write_text("hello\n")
    (tmp_path / "not_asf.amc").write_text("\n".join(amc_lines))
    with pytest.raises(ValueError, match="not an ASF skeleton"):
        acclaim.load_clip(tmp_path / "not_asf.amc")


@pytest.fixture(scope="module")
def synthetic_split(body, features, tmp_path_factory):
    config = SyntheticDataConfig(clips=("run", "walk"), test_clips=("run",), train_renderings=2, test_renderings=1)
    return config, {split: build_split(config, split, body, features) for split in ("train", "test")}


def test_synthetic_splits_hold_out_whole_clips(synthetic_split):
    _, records = synthetic_split
    assert {r["name"] for r in records["train"]} == {"walk/0", "walk/1"}
    assert {r["name"] for r in records["test"]} == {"run/0"}


def test_synthetic_keypoints_are_noisy_projections_of_the_targets(synthetic_split, body):
    _, records = synthetic_split
    record = records["train"][0]
    sequence = sequence_from_record(record, body)
    assert sequence.keypoints.shape == (len(sequence), 19, 2)
    assert sequence.features.shape == (len(sequence), 2048)
    assert sequence.vertices.shape == (len(sequence), 6890, 3) and sequence.vertices[..., 2].min() > 1.0
    # Focal length from the clean relation u = f x / z + w / 2, fitted across all joints.
    width, height = sequence.image_size[0]
    x_over_z = sequence.joints[..., 0] / sequence.joints[..., 2]
    offset = sequence.keypoints[..., 0] - width / 2
    focal = np.median(offset / x_over_z)
    residual = np.abs(offset - focal * x_over_z)
    person_height = np.ptp(sequence.keypoints[..., 1], axis=1).mean()
    assert 0.003 * person_height < np.median(residual) < 0.03 * person_height  # jittered, not clean or lost


def test_synthetic_features_follow_the_rendered_body(synthetic_split):
    _, records = synthetic_split
    a, b = records["train"]  # same motion, another camera and body shape
    within = np.linalg.norm(np.diff(a["features"].astype(np.float32), axis=0), axis=1).mean()
    between = np.linalg.norm(a["features"].astype(np.float32) - b["features"].astype(np.float32), axis=1).mean()
    assert within > 0 and between > 2 * within


def test_synthetic_cache_round_trip(synthetic_split, body, tmp_path):
    _, records = synthetic_split
    save_records(records["train"], tmp_path / "train.npz", body.name)
    loaded = load_records(tmp_path / "train.npz", body.name)
    assert [r["name"] for r in loaded] == [r["name"] for r in records["train"]]
    np.testing.assert_array_equal(loaded[1]["keypoints"], records["train"][1]["keypoints"])
    with pytest.raises(ValueError, match="another body"):
        load_records(tmp_path / "train.npz", "some other body")


def _sequence(n=5, joints=19):
    return Sequence(
        "s",
        RNG.uniform(0, 640, (n, joints, 2)).astype(np.float32),
        np.tile([640, 480], (n, 1)),
        np.arange(n, dtype=np.float32)[:, None].repeat(2048, 1),
        joints=RNG.normal(size=(n, joints, 3)) * 100,
        h36m_joints=RNG.normal(size=(n, 17, 3)) * 100,
    )


def test_windows_repeat_the_edge_frames():
    np.testing.assert_array_equal(window_indices(5, 0, 4, 2), [0, 0, 0, 1])
    np.testing.assert_array_equal(window_indices(5, 4, 4, 2), [2, 3, 4, 4])
    np.testing.assert_array_equal(window_indices(20, 10, 16, 8), np.arange(2, 18))
    np.testing.assert_array_equal(window_indices(20, 10, 16, 15), np.arange(-5, 11).clip(0))  # causal: ends at 10


def test_window_samples_are_rooted_at_the_h36m_pelvis(body):
    sequence = _sequence()
    dataset = WindowDataset([sequence], 16, body.h36m_regressor)
    sample = dataset[2]
    assert sample["features"][:, 0].tolist() == [0] * 6 + [0, 1, 2, 3, 4] + [4] * 5
    np.testing.assert_allclose(sample["h36m_joints"][0], 0, atol=1e-6)
    np.testing.assert_allclose(sample["joints"].numpy(), sequence.joints[2] - sequence.h36m_joints[2][0], atol=1e-4)
    assert sample["mesh_valid"].item() == 0 and sample["joints_valid"].all()
    only_pose = WindowDataset([sequence], 16, body.h36m_regressor, image_features=False)[2]
    assert not only_pose["features"].any()
    assert len(WindowDataset([sequence], 16, body.h36m_regressor, stride=2)) == 3
    causal = WindowDataset([sequence], 16, body.h36m_regressor, described_frame=15)[2]  # ends at frame 2
    assert causal["features"][:, 0].tolist() == [0] * 13 + [0, 1, 2]
    padded = WindowDataset([sequence], 16, body.h36m_regressor, pad_future=True)[2]  # centered, future = frame 2
    assert padded["features"][:, 0].tolist() == [0] * 6 + [0, 1, 2] + [2] * 7
    np.testing.assert_array_equal(padded["joints"], sample["joints"])  # the same target frame


def test_joblib_reader_matches_joblib_and_refuses_code(tmp_path):
    content = {
        "features": RNG.normal(size=(4, 2048)).astype(np.float32),
        "img_name": np.array(["TS1/imageSequence/img_000001.jpg", "TS1/imageSequence/img_000002.jpg"]),
        "joints3D": np.asfortranarray(RNG.normal(size=(4, 49, 3))),
        "names": ["a", 2],
    }
    joblib.dump(content, tmp_path / "db.pt")
    loaded = load_joblib(tmp_path / "db.pt")
    for key in ("features", "img_name", "joints3D"):
        np.testing.assert_array_equal(loaded[key], content[key])
    assert loaded["names"] == ["a", 2]

    class Payload:
        def __reduce__(self):
            return (print, ("executed",))

    joblib.dump({"x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="refusing to load builtins.print"):
        load_joblib(tmp_path / "evil.pt")
    joblib.dump(content, tmp_path / "packed.pt", compress=3)
    with pytest.raises(ValueError, match="compressed"):
        load_joblib(tmp_path / "packed.pt")


def _write_json(path, content):
    path.write_text(json.dumps(content))


def test_3dpw_loader_reads_the_release_layout(tmp_path, body):
    frames, people = 3, (0, 1)
    images = [
        {"id": i, "width": 1080, "height": 1920, "sequence": "downtown_walk_00", "file_name": f"image_{i:05d}.jpg"}
        for i in range(frames)
    ]
    annotations = []
    feats, coco, h36m, detections = {}, {}, {}, []
    for i in range(frames):
        for p in people:
            aid = len(annotations)
            annotations.append(
                {
                    "id": aid,
                    "image_id": i,
                    "person_id": p,
                    "smpl_param": {"pose": [0.0] * 72, "shape": [0.0] * 10, "trans": [0.0, 0.0, 5.0], "gender": "male"},
                }
            )
            coco.setdefault("downtown_walk_00", {}).setdefault(str(i), {})[str(p)] = (
                RNG.normal(size=(19, 3)) * 100 + [0, 0, 5000]
            ).tolist()
            h36m.setdefault("downtown_walk_00", {}).setdefault(str(i), {})[str(p)] = (
                RNG.normal(size=(17, 3)) * 100 + [0, 0, 5000]
            ).tolist()
            feats[f"downtown_walk_00_{p}_{i}"] = [float(i + 10 * p)] * 2048
            detections.append({"annotation_id": aid, "keypoints": RNG.uniform(0, 1000, (17, 3)).tolist()})
    del feats["downtown_walk_00_1_2"]  # the release skips frames without features
    _write_json(tmp_path / "3DPW_latest_test.json", {"images": images, "annotations": annotations})
    _write_json(tmp_path / "3DPW_test_joint_coco_cam.json", coco)
    _write_json(tmp_path / "3DPW_test_joint_h36m_cam.json", h36m)
    _write_json(tmp_path / "3DPW_test_img_feat.json", feats)
    _write_json(tmp_path / "vitpose_3dpw_test_output.json", detections)

    sequences = load_3dpw(tmp_path, "test", body)
    assert [s.name for s in sequences] == ["downtown_walk_00_0", "downtown_walk_00_1"]
    first, second = sequences
    assert len(first) == 3 and len(second) == 2
    assert first.features[:, 0].tolist() == [0, 1, 2] and second.features[:, 0].tolist() == [10, 11]
    detected = np.asarray(detections[2]["keypoints"])[:, :2]  # frame 1, person 0
    np.testing.assert_allclose(first.keypoints[1, :17], detected, rtol=1e-6)
    np.testing.assert_allclose(first.keypoints[1, 17], detected[[11, 12]].mean(0), rtol=1e-6)
    np.testing.assert_allclose(first.h36m_joints[0], h36m["downtown_walk_00"]["0"]["0"], rtol=1e-6)
    assert first.vertices is None  # the stand-in body does not stand in for SMPL ground truth
    assert tuple(first.image_size[0]) == (1080, 1920)


def test_h36m_loader_reads_the_release_layout(tmp_path):
    (tmp_path / "annotations").mkdir()
    images, names = [], []
    for frame in range(4):
        name = f"s_09_act_02_subact_01_ca_01_{frame + 1:06d}.jpg"
        names.append(name)
        images.append(
            {
                "id": frame,
                "file_name": f"s_09_act_02_subact_01_ca_01/{name}",
                "width": 1000,
                "height": 1002,
                "subject": 9,
                "action_idx": 2,
                "subaction_idx": 1,
                "cam_idx": 1,
                "frame_idx": frame,
            }
        )
    rotation = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    world = {str(f): (RNG.normal(size=(17, 3)) * 100).tolist() for f in range(4)}
    _write_json(tmp_path / "annotations" / "Human36M_subject9_data.json", {"images": images, "annotations": []})
    _write_json(
        tmp_path / "annotations" / "Human36M_subject9_camera.json",
        {"1": {"R": rotation.tolist(), "t": [10.0, 20.0, 5000.0], "f": [1145.0, 1144.0], "c": [512.0, 515.0]}},
    )
    _write_json(tmp_path / "annotations" / "Human36M_subject9_joint_3d.json", {"2": {"1": world}})
    _write_json(
        tmp_path / "Human36M_test_cpn_joint_2d.json",
        {f"s_09_act_02_subact_01_ca_01/{n}": RNG.uniform(0, 1000, (17, 2)).tolist() for n in names[::-1]},
    )
    joblib.dump(
        {
            "features": np.arange(3, dtype=np.float32)[:, None].repeat(2048, 1),
            "img_name": np.array([f"images/s_09_act_02_subact_01_ca_01/{n}" for n in names[:3]]),
        },
        tmp_path / "h36m_test_imgfeat_db_concat.pt",
    )

    (sequence,) = load_h36m(tmp_path, "test", subjects=(9,))
    assert sequence.name == "S9_act2_sub1_cam1" and len(sequence) == 3  # frame 4 has no feature
    assert sequence.features[:, 0].tolist() == [0, 1, 2]
    expected = np.asarray(world["1"]) @ rotation.T + [10.0, 20.0, 5000.0]
    np.testing.assert_allclose(sequence.h36m_joints[1], expected, rtol=1e-5)
    np.testing.assert_array_equal(sequence.joints, sequence.h36m_joints)
    assert sequence.keypoints.shape == (3, 17, 2)


def test_mpii3d_loader_maps_spin_joints_to_h36m(tmp_path):
    names = [f"mpi_inf_3dhp_test_set/TS{s}/imageSequence/img_{f:06d}.jpg" for s in (1, 2) for f in (2, 1)]
    spin = RNG.normal(size=(4, 49, 3))
    joblib.dump(
        {"img_name": np.array(names), "features": RNG.normal(size=(4, 2048)).astype(np.float32), "joints3D": spin},
        tmp_path / "mpii3d_test_scale12_db.pt",
    )
    _write_json(
        tmp_path / "vitpose_mpii3d_test_output.json",
        [{"image_name": n, "keypoints": RNG.uniform(0, 2048, (17, 3)).tolist()} for n in names],
    )
    sequences = load_mpii3d(tmp_path, "test")
    assert [s.name for s in sequences] == [
        "mpi_inf_3dhp_test_set/TS1/imageSequence",
        "mpi_inf_3dhp_test_set/TS2/imageSequence",
    ]
    ts1 = sequences[0]
    # Sorted by image name: img_000001 (db row 1) comes first.
    np.testing.assert_allclose(ts1.h36m_joints[0, H36M17.index("pelvis")], spin[1, 39] * 1000, rtol=1e-5)
    np.testing.assert_allclose(ts1.h36m_joints[0, H36M17.index("head")], spin[1, 38] * 1000, rtol=1e-5)
    assert ts1.joints is None and ts1.vertices is None
    assert len(set(SPIN49_TO_H36M17)) == 17
    assert tuple(ts1.image_size[0]) == (2048, 2048)


def test_missing_dataset_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="3DPW_latest_test.json"):
        load_3dpw(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="h36m_test_imgfeat_db_concat.pt"):
        load_h36m(tmp_path, "test", subjects=(9,))


def test_missing_motion_clips_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pybullet_data", None)  # as if pybullet were not installed
    with pytest.raises(FileNotFoundError, match=r"pip install pybullet==3\.2\.7"):
        clips.clip_files()
    monkeypatch.setenv("PMCE_SHARE_DIR", "/nonexistent")  # as if scripts/setup had not fetched CMU's capture
    with pytest.raises(FileNotFoundError, match="scripts/setup fetches CMU's"):
        acclaim.clip_files()


@pytest.fixture(scope="module")
def playground_as_bvh(tmp_path_factory):
    amc = next(f for f in clips.clip_files() if acclaim.is_clip(f))
    return amc, asf_capture_as_bvh(amc, tmp_path_factory.mktemp("bvh") / "01_01.bvh")


def test_the_bvh_reader_sees_a_capture_as_the_acclaim_reader_does(playground_as_bvh):
    """CMU's playground capture, rewritten as BVH the way CMU's conversions are, read by each reader: the same
    joints (the BVH floor-levelled), in metres, at 30 fps."""
    amc, bvh_file = playground_as_bvh
    theirs, ours = acclaim.load_clip(amc), bvh.load_clip(bvh_file)
    assert ours.fps == 30 and len(ours) == 60  # 240 frames at 120 fps
    from_acclaim, from_bvh = capture_joints(theirs)[: len(ours)], capture_joints(ours)
    rooted = from_acclaim - from_acclaim[:, :1], from_bvh - from_bvh[:, :1]
    np.testing.assert_allclose(rooted[0], rooted[1], atol=1e-3)
    np.testing.assert_allclose(from_acclaim[:, 0, [0, 2]], from_bvh[:, 0, [0, 2]], atol=1e-3)
    index = real_capture.EVAL_JOINTS.index
    thigh = np.linalg.norm(from_bvh[:, index("left_hip")] - from_bvh[:, index("left_knee")], axis=-1)
    assert 0.3 < thigh.mean() < 0.55  # metres
    feet = np.minimum(from_bvh[:, index("left_ankle"), 1], from_bvh[:, index("right_ankle"), 1])
    assert abs(np.percentile(feet, 2)) < 0.15  # the floor at y = 0


def test_bad_bvh_files_are_refused_with_a_reason(playground_as_bvh, tmp_path):
    _, good = playground_as_bvh
    text = good.read_text()
    cases = {
        "not_bvh.bvh": ("hello\n", "not a BVH file"),
        "renamed.bvh": (text.replace("JOINT ltibia", "JOINT lshin"), "needs ltibia"),
        "braces.bvh": (text.replace("}\nMOTION", "MOTION", 1), "unbalanced braces"),
        "short.bvh": (text[: text.index("Frame Time")] + "Frame Time: 0.0083\n1 2 3\n", "fewer than two whole frames"),
    }
    for name, (content, reason) in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(ValueError, match=reason) as refused:
            bvh.load_clip(tmp_path / name)
        assert name in str(refused.value)


def test_the_capture_set_holds_out_whole_subjects_and_records_where_each_clip_came_from(playground_as_bvh, tmp_path):
    _, good = playground_as_bvh
    clone = tmp_path / "repos" / "motion-capture"
    for subject, take in (("13", "13_01"), ("02", "02_01"), ("02", "02_02")):
        (clone / "data" / subject).mkdir(parents=True, exist_ok=True)
        (clone / "data" / subject / f"{take}.bvh").write_text(good.read_text())
    (clone / "data" / "02" / "02_03.bvh").write_text("HIERARCHY\nROOT hip\n{\nMOTION\n")
    manifest = capture_set.build_capture_set(tmp_path / "repos", tmp_path / "set", progress=lambda line: None)
    splits = {clip["file"]: (clip["subject"], clip["split"]) for clip in manifest["clips"]}
    assert splits == {
        "cmu_daz/data/13/13_01.npz": ("cmu:13", "test"),
        "cmu_daz/data/02/02_01.npz": ("cmu:2", "train"),
        "cmu_daz/data/02/02_02.npz": ("cmu:2", "train"),
    }
    assert [r["file"] for r in manifest["refused"]] == ["data/02/02_03.bvh"]
    assert "unbalanced braces" in manifest["refused"][0]["reason"]
    assert capture_set.provenance(tmp_path / "set") == [
        {
            "repository": "Przestr/motion-capture",
            "commit": "c200c31036a2b8cd2182ddbc85756b2dd79d70d2",
            "licence": capture_set.CMU_TERMS,
        }
    ]
    assert capture_set.split_files(tmp_path / "set", "test") == [tmp_path / "set" / "cmu_daz/data/13/13_01.npz"]
    saved = clips.load_clip(tmp_path / "set" / "cmu_daz/data/13/13_01.npz")
    direct = bvh.load_clip(good)
    np.testing.assert_allclose(capture_joints(saved), capture_joints(direct), atol=1e-5)
    with pytest.raises(FileNotFoundError, match="pmce-capture-set"):
        capture_set.split_files(tmp_path / "nothing", "train")


def test_a_held_out_clip_is_seen_as_a_robot_camera_sees_it(playground_as_bvh, body):
    _, good = playground_as_bvh
    clip = bvh.load_clip(good)
    view = real_capture.view_clip(
        clip,
        real_capture.face_offsets(load_body(generated="anny")),
        np.random.default_rng(1),
        real_capture.Views(noise=0.0),
    )
    camera = view.intrinsics
    depth = view.joints[..., 2]
    assert depth.min() > 0.5 and np.linalg.norm(view.joints[:, 0], axis=-1).max() < 8 * 1.2**3
    seen = [n for n, d in enumerate(view.detections) if len(d)]
    assert len(seen) > 0.5 * len(view.detections)
    # keypoints are the capture's own joints projected (no noise asked): the hips and knees land where they are
    for frame in seen[:10]:
        keypoints = view.detections[frame].keypoints[0]
        for coco, ours in (("left_hip", "left_hip"), ("right_knee", "right_knee"), ("left_wrist", "left_wrist")):
            point = view.joints[frame, real_capture.EVAL_JOINTS.index(ours)]
            projected = point[:2] / point[2] * camera.fx + [camera.cx, camera.cy]
            np.testing.assert_allclose(keypoints[COCO17.index(coco), :2], projected, atol=0.5)
    # perfect predictions score zero; a skeleton 10% too small, its arms' share of that and its distance off
    frames = np.array(seen)
    perfect = real_capture.Predictions([frames], [view.joints[frames]])
    scores = real_capture.score([view], perfect)
    assert scores["mpjpe"] == pytest.approx(0.0, abs=1e-6) and scores["root_pct"] == pytest.approx(0.0, abs=1e-6)
    shrunk = view.joints[frames] * 0.9  # the same skeleton scaled about the camera: same picture, 10% nearer
    scores = real_capture.score([view], real_capture.Predictions([frames], [shrunk]))
    assert scores["bone forearm %"] == pytest.approx(-10.0, abs=0.01)
    assert scores["root_pct"] == pytest.approx(10.0, abs=0.01)
    assert scores["pa_mpjpe"] == pytest.approx(0.0, abs=1e-3)
    # one wrist 20 cm off: after alignment it carries most of the error
    moved = view.joints[frames].copy()
    moved[:, real_capture.EVAL_JOINTS.index("left_wrist"), 1] += 0.2
    scores = real_capture.score([view], real_capture.Predictions([frames], [moved]))
    per_joint = scores["pa_per_joint"]
    assert max(per_joint, key=per_joint.get) == "left_wrist" and per_joint["left_wrist"] > 150
    assert np.mean(list(per_joint.values())) == pytest.approx(scores["pa_mpjpe"])


def test_the_diagnosis_separates_pose_from_proportions_and_keypoints_from_the_network(playground_as_bvh, tmp_path):
    _, good = playground_as_bvh
    path = tmp_path / "01_01.npz"
    capture_set.save_clip(bvh.load_clip(good), path)
    anny = load_body(generated="anny")
    views = real_capture.Views(noise=0.0)
    view = real_capture.view_clip(
        clips.load_clip(path), real_capture.face_offsets(anny), np.random.default_rng(1), views
    )
    # bones swapped between two skeletons: the first's directions, the second's lengths
    truth = view.joints
    bent = truth + np.random.default_rng(2).normal(0, 0.03, truth.shape)
    rebuilt = real_capture.with_bones_of(bent, truth)
    index = real_capture.EVAL_JOINTS.index
    for parent, child in real_capture.EVAL_TREE:
        ours, theirs, wanted = (x[:, index(child)] - x[:, index(parent)] for x in (rebuilt, bent, truth))
        np.testing.assert_allclose(np.linalg.norm(ours, axis=-1), np.linalg.norm(wanted, axis=-1), rtol=1e-6)
        cosine = np.sum(ours * theirs, -1) / np.linalg.norm(ours, axis=-1) / np.linalg.norm(theirs, axis=-1)
        np.testing.assert_allclose(cosine, 1.0, atol=1e-6)
    np.testing.assert_allclose(real_capture.with_bones_of(truth, truth), truth, atol=1e-9)
    # our body in the capture's pose, seen by the same camera: the capture's joints kept for one scoring, our
    # body's for the other; its keypoints fall near the capture's (same camera), not on them (other definitions)
    against_capture, against_body = real_capture.body_keypoint_views([path], [view], anny, 3, views)
    np.testing.assert_array_equal(against_capture[0].joints, truth)
    ours = against_body[0].joints
    np.testing.assert_allclose(ours[:, 0], truth[:, 0], atol=1e-5)  # pelvis on pelvis
    assert 0.01 < np.linalg.norm(ours - truth, axis=-1).mean() < 0.15
    seen = [n for n, d in enumerate(view.detections) if len(d) and len(against_body[0].detections[n])]
    hips = COCO17.index("left_hip")
    for frame in seen[:10]:
        box_height = np.ptp(view.detections[frame].keypoints[0, :, 1])
        offset = (
            against_body[0].detections[frame].keypoints[0, hips, :2] - view.detections[frame].keypoints[0, hips, :2]
        )
        assert 0 < np.linalg.norm(offset) < 0.1 * box_height
