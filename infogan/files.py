"""Files that survive kills and full disks: atomic replacement, stale temporaries, a directory's lock."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from infogan.errors import InfoGANError

_PROC_FD = Path("/proc/self/fd")
# O_TMPFILE is refused with one of these where the system or file system lacks it
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}


def write_atomically(path: Path, data: bytes, *, previous: str | None = None) -> None:
    """Replace ``path`` with ``data`` in one step: a reader or a crash sees the old file or the new one.

    The bytes go to an unnamed file (Linux's O_TMPFILE) that is named only once complete and
    synced, so a kill while writing leaves nothing behind; elsewhere to a fresh ``.NAME.*.tmp``
    that :func:`remove_stale_temporaries` clears later. Neither follows a planted symlink.

    Args:
        previous: what to call the old file in the error, e.g. ``checkpoint``: "could not write
            PATH: REASON; the previous checkpoint is untouched".

    Raises:
        InfoGANError: the file could not be written (a full disk, no permission...).
    """
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = _write_temporary(path, data)
        try:
            os.replace(temp, path)
        except OSError:
            temp.unlink(missing_ok=True)
            raise
        _sync_directory(path.parent)
    except OSError as err:
        note = f"; the previous {previous} is untouched" if previous and existed else ""
        raise InfoGANError(f"could not write {path}: {err.strerror or err}{note}") from None


def _write_temporary(path: Path, data: bytes) -> Path:
    """``data`` in a new, synced file beside ``path``, named ``.NAME.<random>.tmp``."""
    fd = _unnamed_file(path.parent)
    if fd is None:  # no O_TMPFILE: a named temporary from the start (O_EXCL | O_NOFOLLOW)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            _write_all(fd, data)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        return Path(name)
    try:
        _write_all(fd, data)
        return _link(fd, path)
    finally:
        os.close(fd)


def _unnamed_file(directory: Path) -> int | None:
    """A file in ``directory`` without a name (the kernel frees it if we die), or None where unsupported."""
    if not hasattr(os, "O_TMPFILE") or not _PROC_FD.is_dir():
        return None
    try:
        return os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError as err:
        if err.errno in _NO_TMPFILE:
            return None
        raise


def _link(fd: int, path: Path) -> Path:
    """Give the unnamed file ``fd`` a fresh name beside ``path`` (link never overwrites nor follows)."""
    # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N names the file itself; os.link uses it only
    # when given a directory fd (without one it calls link(), which fails across /proc's device)
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for _ in range(100):
            name = f".{path.name}.{secrets.token_hex(6)}.tmp"
            try:
                os.link(_PROC_FD / str(fd), name, dst_dir_fd=directory, follow_symlinks=True)
                return path.with_name(name)
            except FileExistsError:
                continue
    finally:
        os.close(directory)
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to ``fd`` and flush it to the disk (the step a full disk fails)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _sync_directory(directory: Path) -> None:
    """Persist a rename: without it a power cut may undo it (best effort: not every system can)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete the ``.*.tmp`` files that killed writes left in ``directory``; returns them.

    Only safe while no other process writes there, that is, under :func:`locked`.
    """
    removed = []
    for temp in sorted(Path(directory).glob(".*.tmp")):
        if temp.is_symlink() or temp.is_file():
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()  # a symlink itself, never its target
            removed.append(temp)
    return removed


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the lock file ``path`` for the duration; a second holder gets a one-line error naming the first
    and the directory the file guards (its parent).

    An OS lock (flock), so it ends with the process however the process ends: a kill leaves no
    stale lock. Where there is no flock (Windows) the directory is not locked.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise InfoGANError(f"could not open {path}: {err.strerror or err}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise InfoGANError(
                f"{path.parent} is in use by another infogan process (pid {holder}); wait for it to finish or stop it"
            ) from None
        with contextlib.suppress(OSError):  # the pid is for the message above; a full disk must not stop us
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
