"""The body every part of the package works with, and the one factory that makes it.

A `BodyModel` is an SMPL-format model (the arrays of an SMPL file) plus what PMCE needs beside it: the
Human3.6M-17 regressor, the COCO-17 regressor where one exists, and PMCE's coarse mesh. `load_body` builds it
from a user's SMPL file and the authors' base-data folder, or makes the synthetic stand-in; the pipeline and
training both call it, so the two never disagree about which body a name means.
"""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import smplx

from pmce_ros.body.anny_body import ANNY_BODY_FILE, ANNY_BODY_NAME, load_anny_arrays
from pmce_ros.body.coarse_mesh import CoarseMesh, coarse_mesh_for_body, coarse_mesh_from_authors_files
from pmce_ros.body.regressors import farthest_points
from pmce_ros.body.smpl_files import load_model_arrays, smpl_from_arrays
from pmce_ros.body.synthetic import NUM_COARSE_VERTICES, STAND_IN_NAME, make_synthetic_body

AUTHORS_ASSET_FILES = ("smpl_mean_vertices.npy", "mesh_downsampling.npz", "J_regressor_h36m_correct.npy")
COCO_REGRESSOR_FILE = "J_regressor_coco.npy"
NUM_BETAS = 10
# The bodies that need no user file: our synthetic stand-in, and the one made from Anny (scripts/make_anny_body.py)
GENERATED_BODIES = {"stand_in": STAND_IN_NAME, "anny": ANNY_BODY_NAME}


@dataclass(frozen=True)
class BodyModel:
    name: str
    stand_in: bool
    model: dict[str, np.ndarray]  # v_template, shapedirs, posedirs, J_regressor, weights, kintree_table, f
    h36m_regressor: np.ndarray  # (17, V)
    coarse: CoarseMesh
    coco_regressor: np.ndarray | None = None  # (17, V); training needs it, the pipeline does not

    @property
    def faces(self) -> np.ndarray:
        return self.model["f"]

    @property
    def num_vertices(self) -> int:
        return self.h36m_regressor.shape[1]

    @property
    def rest_joints(self) -> np.ndarray:
        return self.model["J_regressor"] @ self.model["v_template"]

    @property
    def smpl_regressor(self) -> np.ndarray:
        return self.model["J_regressor"]

    @cached_property
    def layer(self) -> smplx.SMPL:
        return smpl_from_arrays(self.model, num_betas=NUM_BETAS)


def authors_assets_folder(folder: str | Path, names: tuple[str, ...] = AUTHORS_ASSET_FILES) -> Path:
    """The release's base-data folder, checked to hold the named files."""
    assets = Path(folder)
    missing = [name for name in names if not (assets / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{assets} lacks {missing} (the PMCE release's base data)")
    return assets


def load_body(
    smpl_model: str | Path | None = None,
    authors_assets: str | Path | None = None,
    coco_regressor: bool = False,
    generated: str = "stand_in",
) -> BodyModel:
    """Real SMPL (.npz or .pkl) with the release's base-data folder, or, when no file is named, the generated body
    `generated` names (GENERATED_BODIES: "stand_in", "anny"). `coco_regressor`: the body must carry a COCO-17
    regressor (training's targets), which a real SMPL body takes from the folder's J_regressor_coco.npy. Both
    generated bodies stand in for SMPL (their vertices are not SMPL's) and say so in their names."""
    if smpl_model is None:
        if generated not in GENERATED_BODIES:
            raise ValueError(f"body must be one of {list(GENERATED_BODIES)}, got {generated!r}")
        if generated == "anny":
            model, h36m, coco = load_anny_arrays(ANNY_BODY_FILE)
            coarse = coarse_mesh_for_body(
                model["v_template"], farthest_points(model["v_template"], NUM_COARSE_VERTICES), h36m
            )
            return BodyModel(ANNY_BODY_NAME, True, model, h36m, coarse, coco)
        body = make_synthetic_body()
        return BodyModel(body.name, True, body.model, body.h36m_regressor, body.coarse, body.coco_regressor)
    if authors_assets is None:
        raise ValueError(
            f"the SMPL body {smpl_model} needs authors_assets: the release's folder with {list(AUTHORS_ASSET_FILES)}"
        )
    names = AUTHORS_ASSET_FILES + ((COCO_REGRESSOR_FILE,) if coco_regressor else ())
    assets = authors_assets_folder(authors_assets, names)
    return BodyModel(
        f"SMPL ({Path(smpl_model).name})",
        False,
        load_model_arrays(smpl_model),
        np.load(assets / "J_regressor_h36m_correct.npy", allow_pickle=False),
        coarse_mesh_from_authors_files(*(assets / name for name in AUTHORS_ASSET_FILES)),
        np.load(assets / COCO_REGRESSOR_FILE, allow_pickle=False) if coco_regressor else None,
    )
