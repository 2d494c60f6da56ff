"""Files: atomic ``.npz`` writes and reads.

A checkpoint is written to a temporary file in the same directory, flushed to disk, then
renamed over the target (``os.replace`` is atomic on POSIX), so a process killed at any
moment leaves either the previous complete file or the new complete file, never a torn one.
The file gets the permissions a plain write would give (an existing file keeps its own).

A write that fails (a full disk, a read-only directory) raises :class:`UnwritableError`: an
``OSError`` (its ``errno``, ``strerror`` and ``filename``, the target, as the system gave them)
that also names the parameter that chose the file (``exc.param``: ``path`` unless the caller
says otherwise), so the command line reports it as the option the user typed.
:func:`check_writable_directory` finds a directory that cannot be written before any work is
done for it.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import tokenize
import zipfile
import zlib

import numpy as np

from ._checks import NamesParameter, ParameterError, memory_bytes

__all__ = [
    "TEMPORARY_PREFIX",
    "UnwritableError",
    "remove_stale_temporaries",
    "check_writable_directory",
    "same_file",
    "check_npy_header",
    "load_npy",
    "read_json",
    "atomic_write",
    "atomic_savez",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "load_npz",
    "pack_tree",
    "unpack_tree",
]


#: how the temporary files of atomic writes begin (``.tmp-XXXXXXXXmodel.npz``)
TEMPORARY_PREFIX = ".tmp-"


def _umask() -> int:
    """The process's umask: from ``/proc`` on Linux (reading it with ``os.umask`` means setting
    it, which is not thread-safe), else as it was when verigrad was imported."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return _IMPORT_UMASK


_IMPORT_UMASK = os.umask(0)
os.umask(_IMPORT_UMASK)


def _file_mode(path) -> int:
    """The mode the written file gets: an existing file's own, else ``0o666`` less the umask
    (what ``open(path, "w")`` would give; the temporary file alone would be ``0o600``)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


class UnwritableError(NamesParameter, OSError):
    """A file that could not be written: an ``OSError`` about parameter ``param`` (the library
    argument or the option that named the file or its directory) whose reason is
    ``"cannot write PATH: STRERROR"``; ``errno``, ``strerror`` and ``filename`` are the
    system's."""

    def __init__(self, param: str, reason: str, errno=None, strerror=None, filename=None):
        super().__init__(param, reason)
        self.errno, self.strerror, self.filename = errno, strerror, filename

    def __str__(self):  # OSError's own would read "[Errno 28] ..." once errno is set
        return f"{self.param}: {self.reason}"

    def __reduce__(self):
        return type(self), (self.param, self.reason, self.errno, self.strerror, self.filename)


def _unwritable(exc: OSError, path: str, param: str) -> UnwritableError:
    strerror = exc.strerror or _text(exc)
    return UnwritableError(param, f"cannot write {path}: {strerror}", exc.errno, strerror, path)


def atomic_write(path, write, param: str = "path") -> None:
    """Write through ``write(fh)`` to a temporary file beside ``path``, fsync, rename.

    An ``OSError`` on the way (a read-only directory, a full disk) is an
    :class:`UnwritableError` about ``param`` naming ``path``, the file the caller asked for,
    never the temporary file; the temporary file is removed and an existing ``path`` is left
    as it was.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        mode = _file_mode(path)
        fd, tmp = tempfile.mkstemp(
            prefix=TEMPORARY_PREFIX, suffix=os.path.basename(path), dir=directory
        )
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except UnwritableError:
        _discard(tmp)
        raise
    except OSError as exc:
        _discard(tmp)
        raise _unwritable(exc, path, param) from None
    except BaseException:
        _discard(tmp)
        raise


_atomic_write = atomic_write  # the name callers used before it was public


def same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name one file (a symlink, a hard link, ``./x`` and ``x``
    alike); either need not exist yet (then only their resolved paths are compared)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist yet: nothing to overwrite
        return False


def check_writable_directory(directory, param: str, name: str = "") -> None:
    """Refuse ``directory`` unless a file can be created in it: one temporary file
    (``.tmp-XXXXXXXX{name}``, the name :func:`remove_stale_temporaries` of ``name`` clears)
    is created and removed, which catches a read-only file system and missing permissions
    (which ``os.access`` misses when running as root). Raises :class:`UnwritableError` about
    ``param``."""
    directory = os.fspath(directory)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=name, dir=directory)
        os.close(fd)
    except OSError as exc:
        strerror = exc.strerror or _text(exc)
        raise UnwritableError(
            param, f"cannot write in {directory}: {strerror}", exc.errno, strerror, directory
        ) from None
    finally:
        _discard(tmp)


def _discard(tmp) -> None:
    if tmp is not None and os.path.exists(tmp):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def remove_stale_temporaries(path) -> list:
    """Remove the temporary files that an interrupted :func:`atomic_write` of ``path`` left
    (a process killed between ``mkstemp`` and ``os.replace``); returns their paths.

    Call it when a run starts or resumes in a directory, before its first write.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    removed = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in entries:
        if entry.startswith(TEMPORARY_PREFIX) and entry.endswith(name) and entry != name:
            stale = os.path.join(directory, entry)
            try:
                os.unlink(stale)
                removed.append(stale)
            except OSError:
                pass
    return removed


def atomic_savez(path, **arrays) -> None:
    """``numpy.savez`` to ``path`` atomically (temporary file, fsync, rename); a failed write is
    an :class:`UnwritableError` about ``path``."""
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


def atomic_write_bytes(path, data: bytes, param: str = "path") -> None:
    """Write ``data`` to ``path`` atomically (errors about ``param``)."""
    atomic_write(path, lambda fh: fh.write(data), param)


def atomic_write_text(path, text: str, param: str = "path") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (errors about ``param``)."""
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), param)


def atomic_write_json(path, obj, param: str = "path") -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically (errors about ``param``)."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n", param)


#: what reading a damaged ``.npy``/``.npz`` can raise (zlib and zipfile errors included)
#: (numpy parses an .npy header with tokenize: a damaged one can raise TokenError)
READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    KeyError,
    SyntaxError,
    tokenize.TokenError,
    zipfile.BadZipFile,
    zlib.error,
)


def _text(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def check_npy_header(fh, available: int, where: str, param: str):
    """Read an ``.npy`` header from ``fh`` and check its claim before anything is allocated.

    ``available`` is the number of bytes the file (or archive member) holds. Returns
    ``(shape, dtype)``; raises :class:`ParameterError` about ``param`` for a bad header, an
    object dtype, a size beyond ``available`` (a truncated file, or a header that lies) or
    beyond half this machine's memory.
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except READ_ERRORS as exc:
        raise ParameterError(param, f"{where} is not a valid .npy array ({_text(exc)})") from None
    if dtype.hasobject:
        raise ParameterError(param, f"{where} holds Python objects; expected numbers")
    needed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if needed > available - fh.tell():
        raise ParameterError(
            param,
            f"{where} is truncated: its header declares shape {shape} ({needed:,} bytes) but "
            f"the file holds {max(available - fh.tell(), 0):,}",
        )
    if needed > memory_bytes() // 2:
        raise ParameterError(
            param, f"{where} declares shape {shape} ({needed:,} bytes): more than memory allows"
        )
    return shape, dtype


def load_npy(path, param: str = "path") -> np.ndarray:
    """The array of an ``.npy`` file, its header checked first (:func:`check_npy_header`);
    every way the file can be bad is a :class:`ParameterError` about ``param`` naming it."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size == 0:
        raise ParameterError(param, f"{path} is empty")
    with open(path, "rb") as fh:
        check_npy_header(fh, size, path, param)
    try:
        return np.load(path, allow_pickle=False)
    except (*READ_ERRORS, MemoryError) as exc:
        raise ParameterError(param, f"cannot read {path}: {_text(exc)}") from None


def load_npz(path, param=None) -> dict:
    """Every array of an ``.npz`` file as a dict (the file is closed on return).

    Each member's header is checked against the member's size before it is read, so a damaged
    or hostile archive allocates nothing it cannot back. A truncated or corrupt archive is a
    :class:`ParameterError` about ``param`` whose reason starts with the file's path.
    """
    path = os.fspath(path)
    param = path if param is None else param
    arrays = {}
    try:
        with open(path, "rb") as fh:
            if fh.read(6) == np.lib.format.MAGIC_PREFIX:
                reason = "holds a single .npy array, not an .npz archive"
                raise ParameterError(param, reason if param == path else f"{path}: {reason}")
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                name = info.filename[: -len(".npy")]
                with archive.open(info) as fh:
                    check_npy_header(fh, info.file_size, f"{path} (array {name!r})", param)
                with archive.open(info) as fh:
                    arrays[name] = np.lib.format.read_array(fh, allow_pickle=False)
    except ParameterError:
        raise
    except (*READ_ERRORS, MemoryError) as exc:
        reason = f"not a readable .npz archive (truncated or corrupt: {_text(exc)})"
        raise ParameterError(param, reason if param == path else f"{path}: {reason}") from None
    return arrays


def read_json(text, param: str):
    """``json.loads(text)``; invalid or absurdly nested JSON (a ``RecursionError`` in the parser)
    is a :class:`ParameterError` about ``param``."""
    try:
        return json.loads(str(text))
    except (ValueError, RecursionError) as exc:
        what = "nested too deeply" if isinstance(exc, RecursionError) else _text(exc)
        raise ParameterError(param, f"holds invalid metadata ({what})") from None


def pack_tree(tree, prefix: str) -> dict:
    """Flatten nested dicts/lists holding arrays and JSON values into ``.npz``-ready arrays.

    Arrays become entries ``"{prefix}/{i}"``; everything else goes into one JSON string under
    ``prefix`` with ``{"__array__": i}`` markers, so :func:`unpack_tree` restores the tree
    exactly (array dtypes included) without pickling.
    """
    arrays = {}

    def encode(obj):
        if isinstance(obj, np.ndarray):
            key = f"{prefix}/{len(arrays)}"
            arrays[key] = obj
            return {"__array__": key}
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, dict):
            return {"__dict__": [[encode(k), encode(v)] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            return {"__list__": [encode(v) for v in obj], "tuple": isinstance(obj, tuple)}
        return obj

    arrays[prefix] = np.array(json.dumps(encode(tree)))
    return arrays


def unpack_tree(arrays: dict, prefix: str):
    """Inverse of :func:`pack_tree`."""

    def decode(obj):
        if isinstance(obj, dict):
            if "__array__" in obj:
                return np.array(arrays[obj["__array__"]], copy=True)
            if "__dict__" in obj:
                return {_hashable(decode(k)): decode(v) for k, v in obj["__dict__"]}
            if "__list__" in obj:
                items = [decode(v) for v in obj["__list__"]]
                return tuple(items) if obj.get("tuple") else items
        return obj

    if prefix not in arrays:
        raise ParameterError("arrays", f"has no entry {prefix!r}")
    tree = read_json(arrays[prefix], "arrays")
    try:
        return decode(tree)
    except (RecursionError, KeyError, TypeError, ValueError) as exc:
        what = "nested too deeply" if isinstance(exc, RecursionError) else _text(exc)
        raise ParameterError("arrays", f"{prefix!r} is not a packed tree ({what})") from None


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key
