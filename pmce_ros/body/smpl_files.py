"""SMPL-format model files: official .pkl (chumpy inside, read without chumpy) and .npz, loaded into smplx.

smplx 0.1.28 always unpickles SMPL files (and so needs chumpy for the official ones); here the arrays are read
safely and handed to `smplx.SMPL` through its `data_struct` argument instead.
"""

from pathlib import Path

import numpy as np
import scipy.sparse
import smplx
import torch
from smplx.utils import Struct

from pmce_ros.body.safe_pickle import load_pickle

MODEL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


def _dense(value) -> np.ndarray:
    return value.toarray() if scipy.sparse.issparse(value) else np.asarray(value)


def load_model_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The model arrays (MODEL_KEYS) of an SMPL-format .npz or .pkl file, as plain numpy arrays."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"body model file not found: {path}")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as content:
            arrays = {k: content[k] for k in content.files}
    elif path.suffix == ".pkl":
        arrays = load_pickle(path.read_bytes())
        if not isinstance(arrays, dict):
            raise ValueError(f"{path} does not hold a dict of model arrays")
    else:
        raise ValueError(f"{path}: expected an SMPL-format .npz or .pkl file")
    missing = [k for k in MODEL_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks the SMPL arrays {missing}")
    return {k: _dense(arrays[k]) for k in MODEL_KEYS}


def convert_pkl_to_npz(pkl: str | Path, npz: str | Path) -> Path:
    """Writes the arrays of an official SMPL .pkl to an .npz that loads without any unpickling."""
    np.savez(npz, **load_model_arrays(pkl))
    return Path(npz)


def smpl_from_arrays(
    arrays: dict[str, np.ndarray], num_betas: int = 10, batch_size: int = 1, dtype: torch.dtype = torch.float32
) -> smplx.SMPL:
    data = Struct(**{k: np.asarray(v) for k, v in arrays.items()})
    data.f = data.f.astype(np.int64)
    return smplx.SMPL(model_path=None, data_struct=data, num_betas=num_betas, batch_size=batch_size, dtype=dtype)


def load_smpl(path: str | Path, **kwargs) -> smplx.SMPL:
    """An smplx SMPL layer from an SMPL-format .npz or .pkl file (kwargs: num_betas, batch_size, dtype)."""
    return smpl_from_arrays(load_model_arrays(path), **kwargs)
