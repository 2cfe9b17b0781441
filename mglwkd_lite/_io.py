"""Atomic writes, content-addressed cache keys and plain-JSON conversion, shared by every stage
that stores results.

A file is first written to a temporary name in the same folder, flushed to disk, then renamed over
the final name. ``os.replace`` is atomic on POSIX, so a process killed mid-write leaves at most a
stray ``*.tmp-*`` file that no reader ever opens: a later run simply recomputes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_with",
    "atomic_save_npz",
    "load_npz",
    "stable_hash",
    "jsonable",
    "default_cache_dir",
]


def default_cache_dir() -> Path:
    """The cache folder: ``.cache/`` at the repository root (ignored by git).

    Found by walking up from the current folder to the first one holding ``pyproject.toml``, so
    notebooks (run from ``notebooks/``) and tests (run from the root) share one cache. Outside a
    checkout it falls back to ``./.cache``.

    Returns
    -------
    pathlib.Path
    """
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "mglwkd_lite").is_dir():
            return folder / ".cache"
    return here / ".cache"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename).

    Parameters
    ----------
    path : str or os.PathLike
        The final file; its folder is created if needed.
    data : bytes
        The whole content.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        # mkstemp creates the file private (0600); give it the usual permissions of a written file.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Never leave a half-written temporary behind on a handled failure.
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`); returns ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: str | os.PathLike, writer: Callable[[io.BufferedIOBase], None]) -> Path:
    """Serialise with ``writer(buffer)`` into memory, then write the bytes atomically.

    Used for ``torch.save`` and ``np.savez``, which write to a file object.

    Parameters
    ----------
    path : str or os.PathLike
        The final file.
    writer : callable
        ``writer(buffer)`` writes the content to a binary file object.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    buf = io.BytesIO()
    writer(buf)
    return atomic_write_bytes(path, buf.getvalue())


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """``np.savez`` (uncompressed: the cache favours load speed) written atomically; returns ``path``."""
    return atomic_write_with(path, lambda fh: np.savez(fh, **arrays))


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file, never unpickling (``allow_pickle=False``).

    Returns
    -------
    dict of str to numpy.ndarray
        The arrays, read into memory (the file is closed).
    """
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values, for records and checkpoints.

    Dataclasses become dicts of their fields, arrays and tuples lists, NumPy scalars Python numbers,
    paths strings; mappings keep their key order (keys become strings). Unlike the hashing form of
    :func:`stable_hash`, floats stay floats and no type names are added.

    Parameters
    ----------
    obj : object

    Returns
    -------
    object
        Something :func:`json.dumps` writes.
    """
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _canonical(obj: Any) -> Any:
    """Turn configs and containers into plain JSON-able values with a fixed key order."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__name__, **{f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float):
        return repr(obj)  # exact: 0.1 and 0.1000000001 must not collide
    return obj


def stable_hash(*parts: Any, length: int = 16) -> str:
    """A short, stable hex digest of configs, plain values and numpy arrays.

    Arrays contribute their dtype, shape and raw bytes, so the same data always gives the same key
    and any changed value, shape or setting gives another. Used to name cache files.

    Parameters
    ----------
    *parts : object
        Dataclasses (hashed with their class and field names), mappings, sequences, plain values,
        numpy arrays.
    length : int
        Hex digits kept.

    Returns
    -------
    str
    """
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"ndarray:{arr.dtype.str}:{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(json.dumps(_canonical(part), sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()[:length]
