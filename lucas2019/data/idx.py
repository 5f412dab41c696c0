"""Read and write IDX files (the MNIST format), gzip-compressed or raw.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian int32 per dimension, then the values in row-major order, big-endian.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from lucas2019.io import atomic_write

# IDX type code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_CODES = {np.dtype(v).newbyteorder("=").str[1:]: k for k, v in IDX_DTYPES.items()}


class IDXFormatError(ValueError):
    """An IDX file is not what it should be (magic number, header, length)."""


def _read_bytes(path: Path) -> bytes:
    if path.name.endswith(".gz"):
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (OSError, EOFError) as err:  # BadGzipFile is an OSError; a cut .gz is an EOFError
            raise IDXFormatError(
                f"{path}: cannot decompress ({type(err).__name__}: {err}); the file is truncated "
                "or not gzip. Delete it and download it again (download=True), or place an "
                "intact copy there."
            ) from err
    return path.read_bytes()


def read_idx(
    path: str | os.PathLike,
    expected_magic: int | None = None,
    expected_shape: tuple[int | None, ...] | None = None,
) -> np.ndarray:
    """Read an IDX file (``.gz`` decompressed on the fly) into a native-endian array.

    Args:
        path: the file; a name ending in ``.gz`` is read through gzip.
        expected_magic: e.g. 2051 for MNIST images, 2049 for labels; None accepts any valid magic.
        expected_shape: required dimensions, None entries match any size, e.g. ``(None, 28, 28)``.

    Returns:
        array with the header's shape and dtype (uint8 for MNIST).

    Raises:
        FileNotFoundError: no such file.
        IDXFormatError (a ValueError): wrong magic number or dimensions, truncated/padded.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = _read_bytes(path)
    fix = "Delete the file and download it again (download=True), or replace it by an intact copy."
    if len(raw) < 4:
        raise IDXFormatError(f"{path}: {len(raw)} bytes, too short for an IDX header. {fix}")
    magic = int.from_bytes(raw[:4], "big")
    zero, code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if expected_magic is not None and magic != expected_magic:
        raise IDXFormatError(
            f"{path}: magic number {magic} (0x{magic:08x}), expected {expected_magic} "
            f"(0x{expected_magic:08x}). The file is not the IDX file its name says (images have "
            f"2051, labels 2049) or it is corrupt. {fix}"
        )
    if zero != 0 or code not in IDX_DTYPES or ndim == 0:
        raise IDXFormatError(
            f"{path}: magic number 0x{magic:08x} is not a valid IDX header (expected 0x0000TTNN "
            f"with type code TT in {sorted(hex(c) for c in IDX_DTYPES)}). {fix}"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise IDXFormatError(f"{path}: truncated inside the header ({len(raw)} bytes). {fix}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if expected_shape is not None:
        ok = len(shape) == len(expected_shape) and all(
            e is None or e == s for s, e in zip(shape, expected_shape, strict=False)
        )
        if not ok:
            want = tuple("n" if e is None else e for e in expected_shape)
            raise IDXFormatError(
                f"{path}: header dimensions {shape}, expected {want}. The file is not the dataset "
                f"its name says, or its header is corrupt. {fix}"
            )
    dtype = np.dtype(IDX_DTYPES[code])
    n_values = int(np.prod(shape, dtype=np.int64))
    expected_len = header_len + n_values * dtype.itemsize
    if len(raw) != expected_len:
        what = "truncated" if len(raw) < expected_len else "longer than its header says"
        raise IDXFormatError(
            f"{path}: {what}: {len(raw)} bytes (decompressed), the header {shape} needs "
            f"{expected_len}. {fix}"
        )
    data = np.frombuffer(raw, dtype=dtype, count=n_values, offset=header_len)
    return data.reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` (uint8, int8, int16, int32, float32 or float64) as IDX bytes."""
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=").str[1:]
    if key not in _CODES:
        raise ValueError(
            f"array dtype {array.dtype} has no IDX type code; allowed: "
            f"{sorted(np.dtype(v).name for v in IDX_DTYPES.values())}. Cast it first."
        )
    code = _CODES[key]
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"array.ndim={array.ndim}; IDX needs 1..255 dimensions.")
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    return header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, atomically; gzip-compressed if ``path`` ends in ``.gz``."""
    path = Path(path)
    data = idx_bytes(array)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))
