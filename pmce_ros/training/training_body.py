"""The body model training works with: SMPL-format arrays, the regressors its targets and metrics need, and
PMCE's coarse mesh for it. Real SMPL with the release's assets when given, else the synthetic stand-in."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import smplx

from pmce_ros.body.body_model import AUTHORS_ASSET_FILES, authors_assets_folder
from pmce_ros.body.coarse_mesh import CoarseMesh, coarse_mesh_from_authors_files
from pmce_ros.body.smpl_files import load_model_arrays, smpl_from_arrays
from pmce_ros.body.synthetic import make_synthetic_body

COCO_REGRESSOR_FILE = "J_regressor_coco.npy"
NUM_BETAS = 10


@dataclass(frozen=True)
class TrainingBody:
    name: str
    stand_in: bool
    model: dict[str, np.ndarray]  # v_template, shapedirs, posedirs, J_regressor, weights, kintree_table, f
    h36m_regressor: np.ndarray  # (17, V)
    coco_regressor: np.ndarray  # (17, V)
    coarse: CoarseMesh

    @property
    def rest_joints(self) -> np.ndarray:
        return self.model["J_regressor"] @ self.model["v_template"]

    @property
    def smpl_regressor(self) -> np.ndarray:
        return self.model["J_regressor"]

    @cached_property
    def layer(self) -> smplx.SMPL:
        return smpl_from_arrays(self.model, num_betas=NUM_BETAS)


def training_body(smpl: Path | None = None, authors_assets: Path | None = None) -> TrainingBody:
    if smpl is None:
        body = make_synthetic_body()
        return TrainingBody(body.name, True, body.model, body.h36m_regressor, body.coco_regressor, body.coarse)
    if authors_assets is None:
        raise ValueError(
            "a real SMPL body needs authors_assets (the release's folder with "
            f"{list(AUTHORS_ASSET_FILES) + [COCO_REGRESSOR_FILE]})"
        )
    assets = authors_assets_folder(authors_assets, AUTHORS_ASSET_FILES + (COCO_REGRESSOR_FILE,))
    return TrainingBody(
        f"SMPL ({Path(smpl).name})",
        False,
        load_model_arrays(smpl),
        np.load(assets / "J_regressor_h36m_correct.npy", allow_pickle=False),
        np.load(assets / COCO_REGRESSOR_FILE, allow_pickle=False),
        coarse_mesh_from_authors_files(*(assets / n for n in AUTHORS_ASSET_FILES)),
    )
