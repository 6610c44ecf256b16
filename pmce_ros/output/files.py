"""Files for programs: per-person mesh files and the per-frame results of a run.

Results file (`results.npz`, numpy, no pickles; one row per person estimate):
  frame            int64 (N,)       index of the described frame in the source (0-based)
  stamp            float64 (N,)     its stamp, seconds
  track_id         int64 (N,)
  box              float32 (N, 4)   x_min, y_min, x_max, y_max, pixels
  keypoints        float32 (N, 17, 3) COCO-17 x, y pixels + confidence
  translation      float32 (N, 3)   root position in the camera frame, metres
  placement        str (N,)         "keypoints" | "box"
  body             str (N,)         "converged" | "converging" (the track's bone lengths) | "raw" (the network's)
  mesh             float32 (N, 6890, 3) camera frame, metres (SMPL topology: faces in `faces`)
  joints_coco19    float32 (N, 19, 3) camera frame, metres
  joints_h36m17    float32 (N, 17, 3) camera frame, metres, regressed from the mesh (on the track's bones)
  window_span_s    float32 (N,)     time the estimate's window spans, seconds
  faces            int64 (13776, 3)
  metadata         str ()           JSON: source, weights, stand_in, body model, pipeline settings
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pmce_ros.pipeline import PersonEstimate

VERTICES = -1  # in a column's shape: the body's vertex count, known from the faces


@dataclass(frozen=True)
class Column:
    name: str  # in the file
    field: str | None  # the PersonEstimate attribute it holds; None: the described frame's index
    dtype: type
    shape: tuple[int, ...] = ()  # of one row


COLUMNS = (
    Column("frame", None, np.int64),
    Column("stamp", "stamp", np.float64),
    Column("track_id", "track_id", np.int64),
    Column("box", "box", np.float32, (4,)),
    Column("keypoints", "keypoints", np.float32, (17, 3)),
    Column("translation", "translation", np.float32, (3,)),
    Column("placement", "placement", str),
    Column("body", "body", str),
    Column("mesh", "mesh", np.float32, (VERTICES, 3)),
    Column("joints_coco19", "joints", np.float32, (19, 3)),
    Column("joints_h36m17", "joints_h36m", np.float32, (17, 3)),
    Column("window_span_s", "window_span_s", np.float32),
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
        self.rows: dict[str, list] = {column.name: [] for column in COLUMNS}

    def add(self, frame: int, person: PersonEstimate) -> None:
        for column in COLUMNS:
            self.rows[column.name].append(frame if column.field is None else getattr(person, column.field))

    def __len__(self) -> int:
        return len(self.rows["frame"])

    def write(self, path: Path, faces: np.ndarray, metadata: dict) -> Path:
        vertices = int(np.max(faces)) + 1
        arrays = {}
        for column in COLUMNS:
            shape = tuple(vertices if n == VERTICES else n for n in column.shape)
            rows = self.rows[column.name]
            arrays[column.name] = np.array(rows, column.dtype) if rows else np.zeros((0, *shape), column.dtype)
        np.savez_compressed(path, **arrays, faces=np.asarray(faces, np.int64), metadata=json.dumps(metadata))
        return Path(path)


def read_results(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(path, allow_pickle=False) as content:
        arrays = {k: content[k] for k in content.files}
    return arrays, json.loads(str(arrays.pop("metadata")))
