"""Reading joblib dumps (the authors' Human3.6M feature .pt and MPI-INF-3DHP *_db.pt are joblib files) without
executing pickled code.

joblib writes a pickle in which every numpy array is a `NumpyArrayWrapper` object (dtype, shape, order, and in
newer versions an alignment), followed in the same stream by the array's raw bytes (after one padding-length byte
and that many padding bytes when aligned). The reader below resolves only numpy's builders
(pmce_ros.body.safe_pickle) and that wrapper, and reads the raw bytes itself. Compressed dumps are refused.
"""

import pickle
from pathlib import Path

import numpy as np

from pmce_ros.body.safe_pickle import allowed_global

WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
COMPRESSED_MAGICS = (b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"ZF")


class _ArrayWrapper:
    """Receives the wrapper's state: subclass, shape, order, dtype, allow_mmap[, numpy_array_alignment_bytes]."""


class _JoblibUnpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file):
        super().__init__(file)
        # Array bytes follow the pickle frame that holds their wrapper, so they are read from the file itself.
        self._file = file

    def find_class(self, module: str, name: str):
        return _ArrayWrapper if (module, name) == WRAPPER else allowed_global(module, name)

    def _read_array(self, wrapper: _ArrayWrapper) -> np.ndarray:
        dtype, shape = np.dtype(wrapper.dtype), tuple(int(n) for n in wrapper.shape)
        if dtype.hasobject:
            inner = _JoblibUnpickler(self._file)
            return inner.load()
        if getattr(wrapper, "numpy_array_alignment_bytes", None) is not None:
            self._file.read(self._file.read(1)[0])
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        data = self._file.read(size)
        if len(data) != size:
            raise ValueError("joblib file ends inside an array")
        array = np.frombuffer(data, dtype=dtype)
        if wrapper.order == "F":
            return array.reshape(shape[::-1]).transpose().copy()
        return array.reshape(shape).copy()

    def load_build(self):
        super().load_build()
        if isinstance(self.stack[-1], _ArrayWrapper):
            self.stack.append(self._read_array(self.stack.pop()))

    dispatch[pickle.BUILD[0]] = load_build


def load_joblib(path: str | Path):
    """The object in an uncompressed joblib dump, arrays as numpy arrays."""
    path = Path(path)
    with path.open("rb") as file:
        if file.read(5).startswith(COMPRESSED_MAGICS):
            raise ValueError(
                f"{path} is a compressed joblib dump; load and re-save it uncompressed "
                f"(joblib.dump(joblib.load(path), path)) in an environment you trust"
            )
        file.seek(0)
        try:
            return _JoblibUnpickler(file).load()
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as error:
            raise ValueError(f"{path} is not a joblib dump of arrays and plain containers: {error}") from None
