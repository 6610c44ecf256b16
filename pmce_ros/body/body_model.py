"""The body a pipeline works with: its triangles, its Human3.6M-17 regressor and PMCE's coarse mesh for it."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pmce_ros.body.coarse_mesh import CoarseMesh, coarse_mesh_from_authors_files
from pmce_ros.body.smpl_files import load_model_arrays
from pmce_ros.body.synthetic import make_synthetic_body

AUTHORS_ASSET_FILES = ("smpl_mean_vertices.npy", "mesh_downsampling.npz", "J_regressor_h36m_correct.npy")


@dataclass(frozen=True)
class BodyModel:
    name: str
    stand_in: bool
    faces: np.ndarray  # (F, 3)
    h36m_regressor: np.ndarray  # (17, V)
    coarse: CoarseMesh

    @property
    def num_vertices(self) -> int:
        return self.h36m_regressor.shape[1]


def synthetic_body_model() -> BodyModel:
    body = make_synthetic_body()
    return BodyModel(body.name, True, body.model["f"], body.h36m_regressor, body.coarse)


def authors_assets_folder(folder: str | Path, names: tuple[str, ...] = AUTHORS_ASSET_FILES) -> Path:
    """The release's base-data folder, checked to hold the named files."""
    assets = Path(folder)
    missing = [name for name in names if not (assets / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{assets} lacks {missing} (the PMCE release's base data)")
    return assets


def smpl_body_model(smpl_file: str | Path, authors_assets: str | Path) -> BodyModel:
    """Real SMPL (.npz or .pkl) with the release's assets folder holding AUTHORS_ASSET_FILES."""
    assets = authors_assets_folder(authors_assets)
    arrays = load_model_arrays(smpl_file)
    coarse = coarse_mesh_from_authors_files(*(assets / name for name in AUTHORS_ASSET_FILES))
    regressor = np.load(assets / "J_regressor_h36m_correct.npy", allow_pickle=False)
    return BodyModel(f"SMPL ({Path(smpl_file).name})", False, arrays["f"], regressor, coarse)
