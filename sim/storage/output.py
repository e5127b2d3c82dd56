"""Writing results: every run folder appears whole or not at all.

A run is written into a hidden temporary folder beside its destination and renamed into
place at the end, so an interrupted run leaves nothing half-written behind. A temporary
folder left by a process that was killed (``.NAME.partial-PID-XXXX``) is removed by the
next command that writes there. A batch folder is written by one process at a time: it
holds an exclusive lock (:func:`folder_lock`) for the whole batch.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas loads when a result is written or read: the command line starts fast
    import pandas as pd

    from sim.results.result import Result

LOCK_NAME = ".welfare-sim.lock"
"""The lock file of a folder being written (removed when the writer is done)."""


class OutputError(ValueError):
    """The output folder cannot be used; ``str()`` is a one-line message."""


def check_destination(destination: Path) -> None:
    """Raise :class:`OutputError` unless ``destination`` can become a new results folder
    (it does not exist, or is an empty folder, and its nearest existing folder can be
    written: tried, not guessed from the permission bits)."""
    destination = Path(destination)
    if destination.is_dir():
        check_unlocked(destination)
    if destination.exists() and (not destination.is_dir() or _has_entries(destination)):
        raise OutputError(f"{destination}: output folder exists and is not empty")
    for parent in (destination, *destination.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputError(f"{destination}: {parent} is a file, not a folder")
            check_writable(parent, destination)
            break


def child_name(name: str) -> str:
    """``name`` if it is one file or folder name (so that ``folder / name`` stays inside
    ``folder``); an :class:`OutputError` otherwise."""
    if not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in "/\\\x00"):
        raise OutputError(f"{name!r}: not a file name (a name cannot leave its folder)")
    return name


def check_unlocked(folder: Path) -> None:
    """Raise :class:`FolderLocked` if a process holds the lock of ``folder``."""
    path = folder / LOCK_NAME
    if Path(folder).resolve() in _HELD or not path.exists():
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        raise FolderLocked(f"{folder}: another welfare-sim{_lock_holder(path)} is writing this folder") from None
    finally:
        os.close(fd)


def _has_entries(folder: Path) -> bool:
    """Whether ``folder`` holds anything but a stale lock file or temporary folders of
    killed processes."""
    return any(p.name != LOCK_NAME and not _stale_partial(p) for p in folder.iterdir())


def check_writable(folder: Path, shown: Path | None = None) -> None:
    """Raise :class:`OutputError` unless a file can be created in ``folder`` (a read-only
    folder or file system, a full disk of inodes)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".welfare-sim-probe-", dir=folder)
    except OSError as exc:
        raise OutputError(f"{shown or folder}: cannot write in {folder} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def _partial_prefix(destination: Path) -> str:
    return f".{destination.name}.partial-"


def _stale_partial(path: Path) -> bool:
    """Whether ``path`` is the temporary folder of a process that no longer runs."""
    name = path.name
    if not name.startswith(".") or ".partial-" not in name:
        return False
    pid_text = name.rsplit(".partial-", 1)[1].split("-", 1)[0]
    if not pid_text.isdigit():
        return True  # an older program's temporary folder
    return not _alive(int(pid_text))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def remove_stale_partials(folder: Path, destination_name: str | None = None, locked: bool = False) -> list[Path]:
    """Remove the temporary folders that killed processes left in ``folder`` (all of
    them, or only those of ``destination_name``); returns what was removed. With
    ``locked`` (the caller holds the folder's lock) every temporary folder is stale."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    prefix = f".{destination_name}.partial-" if destination_name else "."
    for path in folder.iterdir():
        if path.name.startswith(prefix) and ".partial-" in path.name and (locked or _stale_partial(path)):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class FolderLocked(OutputError):
    """Another process writes the folder."""


_HELD: dict[Path, int] = {}


@contextmanager
def folder_lock(folder: Path):
    """Hold an exclusive lock on ``folder`` (which must exist) while the block runs:
    ``fcntl.flock`` on ``folder/.welfare-sim.lock``, taken without waiting. A second
    writer gets :class:`FolderLocked` at once; a lock of a killed process is released by
    the system, so a stale lock file is simply taken over. The file is removed at the end.
    Re-entrant within one process."""
    folder = Path(folder)
    key = folder.resolve()
    if key in _HELD:
        yield
        return
    path = folder / LOCK_NAME
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot lock the folder ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                holder = _lock_holder(path)
                raise FolderLocked(
                    f"{folder}: another welfare-sim{holder} is writing this folder; wait for it to finish "
                    "(or stop it), then --resume"
                ) from None
            raise OutputError(f"{folder}: cannot lock the folder ({exc.strerror})") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: take the new one
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _HELD[key] = fd
    try:
        yield
    finally:
        del _HELD[key]
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def _lock_holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


_OUTPUTS: list[tuple[Path, str]] = []


def note_output(folder: Path, kind: str) -> None:
    """Remember that this process began writing ``folder`` (``"batch"`` or ``"files"``),
    to say what was kept when it is interrupted."""
    _OUTPUTS.append((Path(folder), kind))


def noted_outputs() -> list[tuple[Path, str]]:
    """The folders noted with :func:`note_output` that exist and hold something."""
    seen: dict[Path, str] = {}
    for folder, kind in _OUTPUTS:
        if folder not in seen and folder.is_dir() and _has_entries(folder):
            seen[folder] = kind
    return list(seen.items())


def forget_outputs() -> None:
    """Start a new command: no folder noted yet."""
    _OUTPUTS.clear()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``: a
    reader sees the old file or the new one, never half of it. Readable by all (0644)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{_partial_prefix(path)}{os.getpid()}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(destination: Path):
    """Yield a temporary folder; on success it is renamed to ``destination``.

    ``destination`` must not exist, or be an empty folder. On any error the temporary
    folder is removed and ``destination`` is left as it was.
    """
    destination = Path(destination)
    remove_stale_partials(destination.parent, destination.name)
    check_destination(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        prefix = f"{_partial_prefix(destination)}{os.getpid()}-"
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=destination.parent))
    except OSError as exc:
        raise OutputError(f"{destination}: cannot create the output folder ({exc.strerror})") from None
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a results folder is not
        try:
            if destination.exists():
                destination.rmdir()
            os.replace(tmp, destination)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise OutputError(f"{destination}: another process wrote this folder meanwhile") from None
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def jsonable(value: Any) -> Any:
    """``value`` for JSON: a float that is not finite becomes ``None`` (JSON has no NaN), in
    dicts, lists and tuples too."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write` of ``text`` as UTF-8."""
    atomic_write(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    """:func:`atomic_write` of ``data`` as indented JSON (non-finite floats as ``null``)."""
    atomic_write_text(path, json.dumps(jsonable(data), indent=2, default=str, allow_nan=False) + "\n")


def atomic_write_csv(path: Path, frame: pd.DataFrame) -> None:
    """:func:`atomic_write` of ``frame`` as CSV, without its index, floats written exactly."""
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.17g"))


def figure_png(fig: Any, dpi: int) -> bytes:
    """``fig`` as PNG bytes (tight bounding box)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def atomic_write_png(path: Path, fig: Any, dpi: int) -> None:
    """:func:`atomic_write` of ``fig`` as PNG."""
    atomic_write(path, figure_png(fig, dpi))


def atomic_write_with(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Call ``write(handle)`` on a text file beside ``path``, then rename it to ``path``
    (for writers that stream, such as an event log). Errors of the file system are
    :class:`OutputError` naming ``path``; the file is readable by all, as the umask allows."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; name the file to write")
    if path.parent.exists() and not path.parent.is_dir():
        raise OutputError(f"{path}: cannot write ({path.parent} is a file, not a folder)")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: cannot write: the folder {path.parent} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; an export is not
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_result(result: Result, folder: Path, extra: dict | None = None) -> None:
    """Write one replication's tables (Parquet), summary (CSV and JSON), the resolved
    scenario and the run's facts into ``folder`` (which exists and is empty)."""
    for name, table in result.tables().items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    summary = result.summary
    summary.rename_axis("indicator").rename("value").to_frame().to_csv(folder / "summary.csv", float_format="%.17g")
    (folder / "summary.json").write_text(
        json.dumps({k: jsonable(float(v)) for k, v in summary.items()}, indent=2) + "\n", encoding="utf-8"
    )
    if result.districts is not None:
        result.districts.to_csv(folder / "districts.csv", float_format="%.17g")
    (folder / "scenario.json").write_text(result.scenario.model_dump_json(indent=2) + "\n", encoding="utf-8")
    facts = {"scenario": result.scenario.name, "seed": result.seed, "measured_days": result.measured_days}
    facts.update(extra or {})
    (folder / "run.json").write_text(json.dumps(facts, indent=2, default=str) + "\n", encoding="utf-8")


def read_summary(folder: Path) -> pd.Series:
    """The summary of a written run."""
    import pandas as pd

    # pandas 3 parses floats exactly by default; pandas 2 needs to be asked.
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    frame = pd.read_csv(Path(folder) / "summary.csv", index_col="indicator", **exact)
    return frame["value"]
