"""Atomic file output: a reader (or a killed run) never sees a half-written file."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

# what atomic_write_bytes stages: "." + the file's name + "." + mkstemp's 8 random characters
_STAGING_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def atomic_write_bytes(
    path: str | Path, data: bytes, *, durable: bool = True, shared: bool = False
) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``.

    The file is private (0600, as the temporary file is made) unless ``shared``: then it
    gets the permissions the user's umask gives a new file (reports, gradebooks, summaries
    are meant to be passed on; keys and anything secret are not).

    The rename alone already means no reader and no killed run ever sees half a file;
    the fsync adds that the data survives a power cut.  A batch writing thousands of
    files passes ``durable=False`` and calls :func:`sync` once at the end instead (one
    fsync costs more than grading a submission).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:  # the first file of a directory (asking first costs every file)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if shared and hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_staging_files(directory: str | Path) -> None:
    """Remove the staging files a killed run left in ``directory`` (only ours: the
    ``.<name>.<8 characters>.tmp`` files :func:`atomic_write_bytes` makes)."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if _STAGING_FILE.match(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def atomic_write_text(
    path: str | Path, text: str, *, durable: bool = True, shared: bool = False
) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable, shared=shared)


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process's umask (reading it means setting it: done once, before any worker)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def sync() -> None:
    """Flush every file written without ``durable`` to disk (one call for a batch)."""
    if hasattr(os, "sync"):  # POSIX; elsewhere the files are only as durable as the OS makes them
        os.sync()


def dump_json(data: Any) -> str:
    """Deterministic JSON text: UTF-8, sorted nowhere (our dicts are built in a fixed
    order), two-space indent, a final newline.

    Exactly ``json.dumps(data, indent=2, ensure_ascii=False) + "\\n"``, written out by
    :func:`_emit` because the standard library only uses its C encoder without an
    indent, and its Python one costs more than grading a submission.
    """
    parts: list[str] = []
    try:
        _emit(data, "\n", parts)
    except _Unusual:  # a type or key only the standard encoder knows how to handle
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    parts.append("\n")
    return "".join(parts)


class _Unusual(Exception):
    pass


_encode_str = json.encoder.encode_basestring  # C-accelerated when available; keeps non-ASCII
_CONSTANTS = {None: "null", True: "true", False: "false"}


def _emit(value: Any, newline: str, parts: list[str]) -> None:
    """Append the JSON text of ``value``, nested at the indent that ``newline`` ends with."""
    if isinstance(value, str):
        parts.append(_encode_str(value))
    elif value is None or value is True or value is False:
        parts.append(_CONSTANTS[value])
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float) and math.isfinite(value):
        parts.append(float.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unusual
            parts.append(separator)
            parts.append(_encode_str(key))
            parts.append(": ")
            if type(item) is str:  # the usual value, without a call
                parts.append(_encode_str(item))
            else:
                _emit(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            if type(item) is str:  # rows of numbers: the usual items, without a call
                parts.append(_encode_str(item))
            else:
                _emit(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "]")
    else:
        raise _Unusual


def atomic_write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, dump_json(data))
