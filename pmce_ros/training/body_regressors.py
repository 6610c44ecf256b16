"""Joint regressors that follow the pose: a generated body's Human3.6M-17 and COCO-17 regressors refitted over
real poses (`body.regressors.pose_consistent_regressor`), so that joints regressed from a posed mesh stay at the
joints. Each point keeps where its rest-pose regressor puts it and is carried by its nearest SMPL joint (collars
excepted: a thorax point must not shrug with the shoulders).

The poses: every `stride`-th frame of the installed clips (DeepMimic's and CMU's playground capture: crawls,
get-ups, kicks, climbing), mirrored too, retargeted onto the body. Used by scripts/make_anny_body.py; run
`python -m pmce_ros.training.body_regressors` to refit the shipped Anny body's file in place.
"""

import numpy as np

from pmce_ros.body.anny_body import ANNY_BODY_FILE
from pmce_ros.body.joint_sets import SMPL24
from pmce_ros.body.regressors import pose_consistent_regressor
from pmce_ros.training.clips import clip_files, load_clip
from pmce_ros.training.mocap import retarget
from pmce_ros.training.motion_windows import mirrored_motion

NOT_ANCHORS = ("left_collar", "right_collar")


def real_poses(model: dict[str, np.ndarray], stride: int = 15) -> np.ndarray:
    rest_joints = model["J_regressor"] @ model["v_template"]
    poses = []
    for path in clip_files():
        pose, transl = retarget(load_clip(path), rest_joints)
        poses += [pose[::stride], mirrored_motion(pose, transl)[0][::stride]]
    return np.concatenate(poses)


def anchors_for(model: dict[str, np.ndarray], points: np.ndarray) -> list[int]:
    rest_joints = model["J_regressor"] @ model["v_template"]
    allowed = [n for n, name in enumerate(SMPL24.names) if name not in NOT_ANCHORS]
    return [allowed[int(np.argmin(np.linalg.norm(rest_joints[allowed] - p, axis=1)))] for p in points]


def refit(model: dict[str, np.ndarray], regressors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each (J, V) regressor refitted to follow the pose, its rest-pose points kept."""
    poses = real_poses(model)
    refitted = {}
    for name, regressor in regressors.items():
        points = regressor @ model["v_template"]
        refitted[name] = pose_consistent_regressor(model, points, anchors_for(model, points), poses)
    return refitted


def main() -> int:
    with np.load(ANNY_BODY_FILE, allow_pickle=False) as content:
        arrays = {key: content[key] for key in content.files}
    model = {key: arrays[key].astype(np.float64) if arrays[key].dtype.kind == "f" else arrays[key] for key in arrays}
    arrays.update(refit(model, {"h36m_regressor": model["h36m_regressor"], "coco_regressor": model["coco_regressor"]}))
    np.savez_compressed(ANNY_BODY_FILE, **arrays)
    print(f"refitted the Human3.6M and COCO regressors of {ANNY_BODY_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
