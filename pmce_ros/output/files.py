"""Files for programs: per-person mesh files and the per-frame results of a run.

Results file (`results.npz`, numpy, no pickles; one row per person estimate):
  frame            int64 (N,)       index of the described frame in the source (0-based)
  stamp            float64 (N,)     its stamp, seconds
  track_id         int64 (N,)
  box              float32 (N, 4)   x_min, y_min, x_max, y_max, pixels
  keypoints        float32 (N, 17, 3) COCO-17 x, y pixels + confidence
  translation      float32 (N, 3)   root position in the camera frame, metres
  placement        str (N,)         "keypoints" | "box"
  mesh             float32 (N, 6890, 3) camera frame, metres (SMPL topology: faces in `faces`)
  joints_coco19    float32 (N, 19, 3) camera frame, metres
  joints_h36m17    float32 (N, 17, 3) camera frame, metres, regressed from the mesh
  window_span_s    float32 (N,)     time the estimate's window spans, seconds
  faces            int64 (13776, 3)
  metadata         str ()           JSON: source, weights, stand_in, body model, pipeline settings
"""

import json
from pathlib import Path

import numpy as np

from pmce_ros.pipeline import PersonEstimate

COLUMNS = (
    "frame",
    "stamp",
    "track_id",
    "box",
    "keypoints",
    "translation",
    "placement",
    "mesh",
    "joints_coco19",
    "joints_h36m17",
    "window_span_s",
)


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray, comments: list[str]) -> Path:
    """Wavefront OBJ (metres, camera frame); `comments` go in the header (which weights, which frame)."""
    lines = [f"# {c}" for c in comments]
    lines += [f"v {x:.5f} {y:.5f} {z:.5f}" for x, y, z in vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces]
    path.write_text("\n".join(lines) + "\n")
    return path


class ResultsWriter:
    """Collects person estimates frame by frame and writes them in the results format above."""

    def __init__(self):
        self.rows: dict[str, list] = {name: [] for name in COLUMNS}

    def add(self, frame: int, person: PersonEstimate) -> None:
        values = (
            frame,
            person.stamp,
            person.track_id,
            person.box,
            person.keypoints,
            person.translation,
            person.placement,
            person.mesh,
            person.joints,
            person.joints_h36m,
            person.window_span_s,
        )
        for name, value in zip(COLUMNS, values):
            self.rows[name].append(value)

    def __len__(self) -> int:
        return len(self.rows["frame"])

    def write(self, path: Path, faces: np.ndarray, metadata: dict) -> Path:
        dtypes = {"frame": np.int64, "stamp": np.float64, "track_id": np.int64, "placement": str}
        arrays = {name: np.array(values, dtype=dtypes.get(name, np.float32)) for name, values in self.rows.items()}
        for name, width in (
            ("box", (4,)),
            ("keypoints", (17, 3)),
            ("translation", (3,)),
            ("mesh", (int(np.max(faces)) + 1, 3)),
            ("joints_coco19", (19, 3)),
            ("joints_h36m17", (17, 3)),
        ):
            if not len(arrays[name]):
                arrays[name] = np.zeros((0, *width), np.float32)
        np.savez_compressed(path, **arrays, faces=np.asarray(faces, np.int64), metadata=json.dumps(metadata))
        return Path(path)


def read_results(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(path, allow_pickle=False) as content:
        arrays = {k: content[k] for k in content.files}
    return arrays, json.loads(str(arrays.pop("metadata")))
