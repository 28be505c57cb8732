"""Caches that make the second solve of a problem start at once: JAX's persistent compilation
cache (the compiled programs), the low-discrepancy collocation points (SciPy's Sobol and
Halton sequences, whose import alone costs 0.7 s) and the values of classical references
(:mod:`neuralsolve.reference.stored`: a method-of-lines solve takes 1-6 s of a core that training
otherwise has).

JAX keys each entry by the program, the JAX and jaxlib versions and the device, so entries are
never used across versions or machines they do not fit. The command line turns the cache on by
default; Python users call :func:`enable_compilation_cache` (the library changes no global JAX
setting by itself). ``NEURALSOLVE_CACHE_DIR`` names another folder, or ``off`` turns it off.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable

ENV = "NEURALSOLVE_CACHE_DIR"
OFF = ("off", "none", "0", "false", "")
MAX_BYTES = 1 << 30  # JAX evicts the least recently used entries past this size
_FOLDERS: dict = {}  # what is kept ("points", "references") -> its folder, once enabled


def default_directory() -> pathlib.Path | None:
    """``$NEURALSOLVE_CACHE_DIR``, else ``$XDG_CACHE_HOME/neuralsolve/jax`` (``~/.cache/...``);
    None when the environment variable turns the cache off."""
    given = os.environ.get(ENV)
    if given is not None:
        return None if given.strip().lower() in OFF else pathlib.Path(given).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "neuralsolve" / "jax"


def enable_compilation_cache(directory=None) -> pathlib.Path | None:
    """Keep compiled programs in ``directory`` (default: :func:`default_directory`) across
    processes; returns the folder used, or None when the cache is off.

    Every program is kept, however quickly it compiled: a solve's start-up is dozens of small
    compilations (network initialisation, metrics), which together cost more than the big one.
    """
    directory = default_directory() if directory is None else pathlib.Path(directory)
    if directory is None:
        return None
    cache_points(directory.parent / "points")
    store_references(directory.parent / "references")
    import jax

    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return directory


def cache_points(directory) -> None:
    """Keep low-discrepancy point sets in ``directory`` (``enable_compilation_cache`` does, beside
    the compiled programs); None stops it."""
    _keep("points", directory)


def store_references(directory) -> None:
    """Keep classical references' values in ``directory`` (``enable_compilation_cache`` does, beside
    the compiled programs); None stops it."""
    _keep("references", directory)


def _keep(kind: str, directory) -> None:
    if directory is None:
        _FOLDERS.pop(kind, None)
    else:
        _FOLDERS[kind] = pathlib.Path(directory)


def points_directory() -> pathlib.Path | None:
    """Where point sets are cached, or None."""
    return _FOLDERS.get("points")


def references_directory() -> pathlib.Path | None:
    """Where classical references' values are kept, or None."""
    return _FOLDERS.get("references")


def write_whole(path: pathlib.Path, write: Callable) -> None:
    """``write(file)`` into ``path``, which is then whole or absent, even with two solves writing at
    once (each writes its own partial file, then renames it); a cache that cannot be written only
    costs time, so an OSError is swallowed."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(partial, "wb") as f:
            write(f)
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
