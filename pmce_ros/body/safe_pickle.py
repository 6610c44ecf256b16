"""Reading the pickles that body-model assets come in, executing nothing but a short list of array builders.

Official SMPL .pkl files hold chumpy arrays (chumpy does not install on Python 3.11 / NumPy 2) and scipy sparse
matrices; GraphCMR's mesh_downsampling.npz holds scipy sparse matrices in object arrays. Both are read here with
an unpickler that resolves only numpy's array reconstruction and placeholder classes for chumpy and scipy.sparse
objects; any other global in the file is refused.
"""

import builtins
import codecs
import copyreg
import importlib
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse

# numpy 2 moved its internals to numpy._core; pickles name either module.
_multiarray = importlib.import_module("numpy._core.multiarray" if hasattr(np, "_core") else "numpy.core.multiarray")


class _Placeholder:
    """Receives the state of a pickled object of a class we do not import."""

    def __setstate__(self, state):
        self.state = state


class ChumpyArray(_Placeholder):
    """A chumpy Ch object; its value is the array under 'x' in its state."""

    def to_numpy(self) -> np.ndarray:
        state = self.state if isinstance(self.state, dict) else {}
        if not isinstance(state.get("x"), np.ndarray):
            raise ValueError("chumpy object without an array value ('x') in its state")
        return np.asarray(state["x"])


class SparseMatrix(_Placeholder):
    """A scipy.sparse matrix pickled with its format's arrays in the state."""

    format = "csr"

    def to_scipy(self):
        state = self.state
        shape = tuple(state.get("_shape", state.get("shape", ())))
        if self.format == "coo":
            row, col = (state["row"], state["col"]) if "row" in state else state["coords"]
            return scipy.sparse.coo_matrix((state["data"], (row, col)), shape=shape)
        build = scipy.sparse.csc_matrix if self.format == "csc" else scipy.sparse.csr_matrix
        return build((state["data"], state["indices"], state["indptr"]), shape=shape)


def _sparse_placeholder(fmt: str):
    return type(f"Sparse_{fmt}", (SparseMatrix,), {"format": fmt})


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("copy_reg", "_reconstructor"): copyreg._reconstructor,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,
    ("_codecs", "encode"): codecs.encode,  # how protocol-2 pickles written by Python 3 carry bytes
}
# Plain containers that protocol 2 spells as globals.
_ALLOWED.update(
    {
        (module, name): getattr(builtins, name)
        for module in ("__builtin__", "builtins")
        for name in ("object", "set", "frozenset")
    }
)
_PLACEHOLDERS = {
    "csr_matrix": _sparse_placeholder("csr"),
    "csc_matrix": _sparse_placeholder("csc"),
    "coo_matrix": _sparse_placeholder("coo"),
}


def allowed_global(module: str, name: str):
    """The object a pickle may name as `module.name`: numpy's array builders or a placeholder; else an error."""
    if (module, name) in _ALLOWED:
        return _ALLOWED[(module, name)]
    if module.startswith("numpy") and name == "scalar":
        return _multiarray.scalar
    if module.startswith("chumpy") and name == "Ch":
        return ChumpyArray
    if module.startswith("scipy.sparse") and name in _PLACEHOLDERS:
        return _PLACEHOLDERS[name]
    raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a pickle")


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        return allowed_global(module, name)


def _plain(value):
    """Replaces placeholders by numpy arrays / scipy matrices, recursively through dicts, lists and tuples."""
    if isinstance(value, ChumpyArray):
        return value.to_numpy()
    if isinstance(value, SparseMatrix):
        return value.to_scipy()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype == object:
        return np.array([_plain(v) for v in value.ravel()] + [None], dtype=object)[:-1].reshape(value.shape)
    return value


def load_pickle(data: bytes):
    """Unpickles `data` (Python 2 pickles included) with the restricted unpickler; returns plain objects."""
    return _plain(RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load())


def load_npz_with_objects(path: str | Path) -> dict:
    """Reads an .npz whose members may be object arrays (pickled) without numpy's allow_pickle."""
    result = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                read_header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(stream)
                if dtype.hasobject:
                    array = load_pickle(stream.read())
                else:
                    array = np.frombuffer(stream.read(), dtype=dtype).reshape(shape, order="F" if fortran else "C")
            result[member.removesuffix(".npy")] = array
    return result
