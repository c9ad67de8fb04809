"""How a store's faults reach the user: one StoreError naming the file and the fix.

A failed write (a full disk, an I/O error, from Python or from Polars) and a damaged stored
file are each one line, never a traceback; nothing is published before the manifest swap, so a
failed write leaves the store as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from costplan._deps import lazy
from costplan.errors import StoreError

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy("polars")


def _first_line(exc: BaseException) -> str:
    text = (getattr(exc, "strerror", None) or str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def writing(root: Path) -> Iterator[None]:
    """Turn a failed write into the store (disk full, I/O error) into one StoreError.

    Polars reports its writers' OS errors as its own exceptions; either way nothing is
    published until the manifest swap, so the store is as it was before the command.
    """
    try:
        yield
    except StoreError:
        raise
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise StoreError(
            f"cannot write to the store at {root}: {_first_line(exc)}{where}", _WRITE_HINT
        ) from None
    except pl.exceptions.PolarsError as exc:
        raise StoreError(
            f"cannot write to the store at {root}: {_first_line(exc)}", _WRITE_HINT
        ) from None


_WRITE_HINT = (
    "free some disk space (or fix the disk), then run the command again; the store is as it was"
)


def damaged_file(root: Path, files: Iterable[str], exc: BaseException) -> StoreError:
    """The error for stored Parquet files that could not be read: names the damaged one.

    Each file's footer is checked (cheap) to find which one it is; if all footers read,
    the reader's own message is given.
    """
    for path in files:
        try:
            pl.read_parquet_schema(path)
        except Exception as bad:  # noqa: BLE001 - Polars raises several types for one fault
            return StoreError(
                f"store file {path} is damaged: {_first_line(bad)}", _DAMAGED_HINT.format(root)
            )
    return StoreError(
        f"store files of {root} are unreadable: {_first_line(exc)}", _DAMAGED_HINT.format(root)
    )


_DAMAGED_HINT = (
    "restore it from a backup, or ingest the exports again into a new store directory; "
    "the store at {} was not changed"
)


@contextlib.contextmanager
def reading(root: Path, files: list[str]) -> Iterator[None]:
    """Turn an unreadable stored file into one StoreError naming it."""
    try:
        yield
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise damaged_file(root, files, exc) from None
