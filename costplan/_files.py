"""File-system primitives every writer shares: one atomic writer, one lock, one grace collector.

The store's manifest, the volume table's state and every report file the CLI writes go through
`write_atomic`; the store's writer lock and the volume refresh lock through `file_lock`;
retired files of both through `collect_retired`. Keeping one of each means one place to get
durability (fsync before rename, fsync of the directory after) and path safety right.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from costplan.errors import InputError

# How long a replaced file outlives the manifest that retired it, so a reader that opened the
# previous snapshot just before the swap can still read its files.
RETIRE_GRACE_SECONDS = 600.0


def now_iso() -> str:
    """The current UTC instant, to the second, ISO 8601 (as written into manifests)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def dumps(doc: Any, *, indent: int | None = 2) -> str:
    """JSON as every costplan output writes it: UTF-8 characters kept (never \\u escapes)."""
    return json.dumps(doc, indent=indent, ensure_ascii=False)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable (POSIX; a no-op where unsupported)."""
    if os.name == "nt":
        return  # Windows cannot open a directory; NTFS journals the rename itself
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename is still atomic
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` so readers see the old file or the new one, never half.

    The data is fsynced before the rename (a crash never leaves an empty file in its place)
    and the directory after it (the rename itself survives a crash).

    Raises:
        InputError: `path` is a directory.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(f"{path} is a directory", "give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def remove_temporaries(directory: Path, name: str) -> None:
    """Delete leftovers of `write_atomic(directory / name)` from killed writers."""
    for tmp in directory.glob(f".{name}.*.tmp"):
        tmp.unlink(missing_ok=True)


def inside(root: Path, relative: str) -> Path | None:
    """`root / relative` if `relative` is a plain relative path, else None.

    Metadata is never trusted to name a file to delete: an absolute path, a `..` part or a
    NUL byte is refused. Checked on the text alone (no system calls), because a refresh
    checks every retired entry.
    """
    parts = relative_parts(relative)
    return None if parts is None else root.joinpath(*parts)


def relative_parts(relative: str) -> list[str] | None:
    """The parts of `relative` if it is a plain relative path (see `inside`), else None.

    Plain string operations, as PurePosixPath would split it: a manifest of a large store
    names thousands of files, each checked when the manifest is read.
    """
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        return None
    text = relative.replace("\\", "/")
    if text.startswith("/"):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or ":" in parts[0]:
        return None
    return parts


def collect_retired(
    root: Path, retired: Iterable[dict[str, Any]], *, grace: float = RETIRE_GRACE_SECONDS
) -> list[dict[str, Any]]:
    """Delete retired files whose grace period has ended; return the entries still waiting.

    Each entry is {"path": relative path, "retired_at": epoch seconds}. A path that would
    leave `root` is dropped from the list and never touched.
    """
    now = time.time()
    keep: list[dict[str, Any]] = []
    for entry in retired:
        target = inside(root, entry.get("path", ""))
        if target is None:
            continue
        try:
            expired = now - float(entry["retired_at"]) >= grace
        except (KeyError, TypeError, ValueError):
            expired = True
        if expired:
            target.unlink(missing_ok=True)
        else:
            keep.append(entry)
    return keep


@contextlib.contextmanager
def file_lock(path: Path, wait: float) -> Iterator[str | None]:
    """Hold an exclusive lock on `path`, waiting up to `wait` seconds.

    Yields None once the lock is held, or the holder's pid (as text) if it could not be taken
    in time. The lock is the operating system's (flock on POSIX, LockFileEx on Windows,
    through `filelock`), released when the block ends or by the kernel if the process dies,
    so a killed writer never leaves a stale lock behind. The holder's pid is written beside
    it (`<path>.pid`), only to name the holder in the message of a writer that must wait.
    """
    # Imported on write paths only: reading commands (`check`) never load it.
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    owner = path.with_name(path.name + ".pid")
    lock = FileLock(str(path), timeout=wait, thread_local=False)
    try:
        lock.acquire(timeout=wait, poll_interval=0.05)
    except Timeout:
        try:
            holder = owner.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            holder = ""
        yield holder or "?"
        return
    try:
        owner.write_text(str(os.getpid()), encoding="ascii")
        yield None
    finally:
        lock.release()


PACKAGE_DIR = Path(__file__).resolve().parent


def config_path(*parts: str) -> Path:
    """A file shipped in the package's config/ folder."""
    return PACKAGE_DIR.joinpath("config", *parts)


def shipped_dir(name: str) -> Path | None:
    """A top-level folder of the repository (queries/, examples/) that the wheel ships inside
    the package: inside the installed package, else at the repository top (editable install)."""
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    return None


# The Unix convention for "standard input / output" in place of a file name.
STDIO = "-"


def is_stdio(path: Path | str | None) -> bool:
    """Whether a file name given by the user means stdin or stdout (`-`)."""
    return path is not None and str(path) == STDIO


def read_stdin_bytes() -> bytes:
    """All of standard input, as bytes (the text layer's decoding is not trusted)."""
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    if stream is not None:
        data: bytes = stream.read()
        return data
    return sys.stdin.read().encode("utf-8")


def read_text(
    path: Path | str, what: str, *, encoding: str = "utf-8", field: str | None = None
) -> str:
    """A user's file as text, or one error naming what it is and where; `-` reads stdin.

    Raises:
        InputError: the file is missing, a directory, unreadable or not in `encoding`.
    """
    if is_stdio(path):
        try:
            return read_stdin_bytes().decode(encoding)
        except UnicodeDecodeError as exc:
            raise InputError(f"cannot read {what} from stdin: {exc}", field=field) from None
    path = Path(path)
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}", "check the path", field=field) from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a {what}", field=field) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} {path}: {exc}", field=field) from None
