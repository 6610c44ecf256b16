"""Loaders for the authors' preprocessed datasets (none of which can be had on our machines; users who own them
point data.root at the folder). Layouts, as the release reads them:

3DPW (`pw3d_data/`): `3DPW_latest_{split}.json` (COCO format: images with width, height, sequence, file_name;
annotations with image_id, person_id, smpl_param {pose, shape, trans, gender}); `3DPW_{split}_joint_coco_cam.json`
and `3DPW_{split}_joint_h36m_cam.json` ({sequence: {frame: {person: joints}}}, camera frame, mm);
`3DPW_{split}_img_feat.json` ({"<sequence>_<person>_<frame>": 2048 floats}); 2D input: for train
`3DPW_train_joint_coco_img_noise.json` (COCO-19, same nesting), else `vitpose_3dpw_{split}_output.json`
([{annotation_id, keypoints: 17 x 3}], pelvis and neck added as the hips' / shoulders' means).

Human3.6M (Human3.6M-17 input): per subject `Human36M_subject{S}_data.json` (COCO format; images carry subject,
action_idx, subaction_idx, cam_idx, frame_idx), `_camera.json` ({cam: {R, t, f, c}}, t in mm) and `_joint_3d.json`
({action: {subaction: {frame: 17 x 3 world mm}}}); `Human36M_{split}_cpn_joint_2d.json` ({image path: 17 x 2});
`h36m_{split}_imgfeat_db_concat.pt` (joblib: features (N, 2048), img_name (N,)). Files are looked up in the root
and in its `annotations/` folder.

MPI-INF-3DHP: `mpii3d_{split}_scale12_db.pt` (joblib: img_name, features, joints3D as SPIN's 49 joints in metres)
and `vitpose_mpii3d_{split}_output.json` ([{image_name, keypoints: 17 x 3}]); images are taken as 2048 x 2048,
as the release does. Joints become Human3.6M-17 (evaluate with eval_joints: h36m17).

Meshes are computed from SMPL parameters only with a real SMPL body (the neutral model; the release uses the
gendered ones for 3DPW ground truth).
"""

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from pmce_ros.body.body_model import BodyModel
from pmce_ros.body.joint_sets import coco17_to_coco19
from pmce_ros.training.joblib_files import load_joblib
from pmce_ros.training.sequences import Sequence
from pmce_ros.training.synthetic_data import posed_vertices

FEATURE_DIM = 2048
# SPIN's 49 joints -> Human3.6M-17, through the release's renaming of the MPI-INF-3DHP test joints (its 'Head
# (H36M)' becomes the nose, 'headtop' the head, 'Spine (H36M)' the torso).
SPIN49_TO_H36M17 = (39, 27, 26, 25, 28, 29, 30, 41, 37, 43, 38, 34, 35, 36, 33, 32, 31)
MPII3D_IMAGE_SIDE = 2048


def _read_json(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"missing dataset file {path}")
    with path.open() as file:
        return json.load(file)


def _find(root: Path, name: str) -> Path:
    for folder in (root, root / "annotations"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"missing dataset file {name} in {root} or {root / 'annotations'}")


def _sequences(frames: dict[str, list[dict]], body: BodyModel | None = None) -> list[Sequence]:
    """Frames grouped per video (sorted by their order key) -> Sequences; meshes from SMPL parameters when a real
    SMPL body is given and every frame has them."""
    sequences = []
    for name in sorted(frames):
        items = sorted(frames[name], key=lambda item: item["order"])
        stack = {
            key: np.stack([item[key] for item in items]).astype(np.float32)
            for key in items[0]
            if key not in ("order", "smpl")
        }
        vertices = None
        if body is not None and not body.stand_in and all("smpl" in item for item in items):
            vertices = np.stack(
                [
                    posed_vertices(body, item["smpl"]["pose"].reshape(1, 24, 3), item["smpl"]["shape"])[0]
                    + item["smpl"]["trans"]
                    for item in items
                ]
            )
        sequences.append(
            Sequence(
                name,
                stack["keypoints"],
                stack["image_size"],
                stack["features"],
                joints=stack.get("joints"),
                h36m_joints=stack.get("h36m_joints"),
                vertices=vertices,
            )
        )
    return sequences


def load_3dpw(root: str | Path, split: str, body: BodyModel | None = None) -> list[Sequence]:
    root = Path(root)
    db = _read_json(root / f"3DPW_latest_{split}.json")
    images = {image["id"]: image for image in db["images"]}
    coco_cam = _read_json(root / f"3DPW_{split}_joint_coco_cam.json")
    h36m_cam = _read_json(root / f"3DPW_{split}_joint_h36m_cam.json")
    features = _read_json(root / f"3DPW_{split}_img_feat.json")
    if split == "train":
        noisy = _read_json(root / "3DPW_train_joint_coco_img_noise.json")
    else:
        detections = {
            str(item["annotation_id"]): np.asarray(item["keypoints"], np.float32)[:, :2]
            for item in _read_json(root / f"vitpose_3dpw_{split}_output.json")
        }
    frames = defaultdict(list)
    for annotation in db["annotations"]:
        image = images[annotation["image_id"]]
        sequence, person = str(image["sequence"]), str(int(annotation["person_id"]))
        frame = str(int(Path(image["file_name"]).stem.split("_")[-1]))
        feature = features.get(f"{sequence}_{person}_{frame}")
        if feature is None:  # the release skips frames without a feature
            continue
        if split == "train":
            keypoints = np.asarray(noisy[sequence][frame][person], np.float32)[:, :2]
        else:
            keypoints = coco17_to_coco19(detections[str(annotation["id"])])
        smpl = annotation["smpl_param"]
        frames[f"{sequence}_{person}"].append(
            {
                "order": image["file_name"],
                "keypoints": keypoints,
                "image_size": [image["width"], image["height"]],
                "features": feature,
                "joints": coco_cam[sequence][frame][person],
                "h36m_joints": h36m_cam[sequence][frame][person],
                "smpl": {k: np.asarray(smpl[k], np.float32) for k in ("pose", "shape", "trans")},
            }
        )
    return _sequences(frames, body)


def load_h36m(root: str | Path, split: str, subjects, body: BodyModel | None = None) -> list[Sequence]:
    """Human3.6M-17 input (CPN detections). No meshes: the release's Human3.6M test uses joints only."""
    root = Path(root)
    db = load_joblib(_find(root, f"h36m_{split}_imgfeat_db_concat.pt"))
    features = {Path(str(name)).name: feature for name, feature in zip(db["img_name"], db["features"])}
    detections = {
        Path(path).name: np.asarray(points, np.float32)[:, :2]
        for path, points in _read_json(_find(root, f"Human36M_{split}_cpn_joint_2d.json")).items()
    }
    frames = defaultdict(list)
    for subject in subjects:
        data = _read_json(_find(root, f"Human36M_subject{subject}_data.json"))
        cameras = _read_json(_find(root, f"Human36M_subject{subject}_camera.json"))
        joints_world = _read_json(_find(root, f"Human36M_subject{subject}_joint_3d.json"))
        for image in data["images"]:
            name = Path(image["file_name"]).name
            if name not in features or name not in detections:
                continue
            camera = cameras[str(image["cam_idx"])]
            rotation, translation = np.asarray(camera["R"], np.float32), np.asarray(camera["t"], np.float32)
            world = np.asarray(
                joints_world[str(image["action_idx"])][str(image["subaction_idx"])][str(image["frame_idx"])], np.float32
            )
            joints = world @ rotation.T + translation.reshape(1, 3)
            video = f"S{image['subject']}_act{image['action_idx']}_sub{image['subaction_idx']}_cam{image['cam_idx']}"
            frames[video].append(
                {
                    "order": image["frame_idx"],
                    "keypoints": detections[name],
                    "image_size": [image["width"], image["height"]],
                    "features": features[name],
                    "joints": joints,
                    "h36m_joints": joints,
                }
            )
    return _sequences(frames)


def load_mpii3d(root: str | Path, split: str) -> list[Sequence]:
    """MPI-INF-3DHP with COCO-19 input (ViTPose detections); Human3.6M-17 targets, no meshes."""
    root = Path(root)
    db = load_joblib(root / f"mpii3d_{split}_scale12_db.pt")
    detections = {
        str(item["image_name"]): np.asarray(item["keypoints"], np.float32)[:, :2]
        for item in _read_json(root / f"vitpose_mpii3d_{split}_output.json")
    }
    frames = defaultdict(list)
    for name, feature, spin_joints in zip(db["img_name"], db["features"], db["joints3D"]):
        name = str(name)
        joints = np.asarray(spin_joints, np.float32).reshape(-1, 3)[list(SPIN49_TO_H36M17)] * 1000
        frames[str(Path(name).parent)].append(
            {
                "order": name,
                "keypoints": coco17_to_coco19(detections[name]),
                "image_size": [MPII3D_IMAGE_SIDE, MPII3D_IMAGE_SIDE],
                "features": feature,
                "h36m_joints": joints,
            }
        )
    return _sequences(frames)
