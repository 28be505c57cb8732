"""Reading measurement files into named columns.

* ``.csv``: a header row names the columns; an empty cell is NaN (a field not measured there).
* ``.npz``: every 1-D array is a column named by its key.

Files are data: nothing in them is executed (``numpy.load`` with ``allow_pickle=False``). Errors
are :class:`ProblemError` naming the file and the cause; the caller adds the key that named it.
"""

from __future__ import annotations

import csv
import pathlib
import zipfile

import numpy as np

from .._errors import ProblemError

MAX_ROWS = 10**7  # a file larger than this is refused before it fills the memory
SUFFIXES = (".csv", ".npz")


def read_columns(path) -> dict[str, np.ndarray]:
    """The columns of a ``.csv`` or ``.npz`` file, as float arrays of one length."""
    path = pathlib.Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ProblemError(f"{path.name}: expected a .csv or .npz file")
    if not path.is_file():
        raise ProblemError(f"{path.name}: no such file")
    columns = _npz(path) if path.suffix.lower() == ".npz" else _csv(path)
    lengths = {len(v) for v in columns.values()}
    if not columns or lengths == {0}:
        raise ProblemError(f"{path.name}: no data rows")
    if len(lengths) != 1:
        raise ProblemError(f"{path.name}: the columns have different lengths ({sorted(lengths)})")
    return columns


def _csv(path: pathlib.Path) -> dict[str, np.ndarray]:
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ProblemError(f"{path.name}: cannot read it ({getattr(err, 'strerror', None) or err})") from None
    if not rows:
        raise ProblemError(f"{path.name}: empty; expected a header row naming the columns")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise ProblemError(f"{path.name}: the header must name every column once, got {header[:12]}")
    body = [r for r in rows[1:] if any(c.strip() for c in r)]  # blank lines
    if len(body) > MAX_ROWS:
        raise ProblemError(f"{path.name}: more than {MAX_ROWS} rows")
    table = np.full((len(body), len(header)), np.nan)
    for n, row in enumerate(body):
        if len(row) != len(header):
            raise ProblemError(f"{path.name}: row {n + 1}: {len(row)} cells where the header has {len(header)}")
        for k, cell in enumerate(row):
            if cell.strip():
                try:
                    table[n, k] = float(cell)
                except ValueError:
                    raise ProblemError(f"{path.name}: row {n + 1}, column {header[k]!r}: {cell.strip()[:30]!r} is not "
                                       "a number") from None  # fmt: skip
    return {h: table[:, k] for k, h in enumerate(header)}


def _npz(path: pathlib.Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            columns = {k: np.asarray(archive[k]) for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ProblemError(f"{path.name}: cannot read it as .npz ({err})") from None
    out = {}
    for k, v in columns.items():
        if v.ndim != 1 or not np.issubdtype(v.dtype, np.number):
            raise ProblemError(f"{path.name}: array {k!r} must be a 1-D array of numbers (one column), got shape {v.shape}")
        if v.size > MAX_ROWS:
            raise ProblemError(f"{path.name}: more than {MAX_ROWS} rows")
        out[k] = v.astype(float)
    return out
