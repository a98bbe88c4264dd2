"""Every file em-abm reads for a user, and every folder it writes, goes through here.

**Reading.** :func:`read_bytes` (and :func:`read_toml`, :func:`read_json`,
:func:`check_input`) accept a regular file under a declared size limit and nothing else: not
a folder, a device such as ``/dev/zero``, a FIFO that would block for ever or a sparse file of
100 GB. Each refusal is one :class:`~em_abm.errors.UserError` line naming the file and what
is allowed.

**Writing.** An output folder (``--out``) is written whole or not at all, and em-abm never
deletes a file it did not write:

* every folder em-abm writes carries a record of its own files (:data:`RECORD`, a small JSON
  file beside them); a folder is *a complete em-abm result* of a kind when every entry in it
  is a file its record lists (or, for results written before records existed, a file of the
  kind's known names with em-abm's signature in its metadata);
* a non-empty folder that is not a complete result is refused unless ``force``; with
  ``force`` em-abm writes its files beside the others, and refuses if one of its names is
  taken by a file it did not write;
* a complete result is replaced, in one rename, only with ``force``;
* ``--out`` is resolved through symbolic links once, before anything is written, and every
  later step works on the real folder (a link is followed, never replaced or deleted);
* folders inside the installed package, and the current folder or one above it, are
  refused;
* :func:`locked` takes an exclusive lock per output folder (``fcntl.flock`` on a file beside
  it, released by the kernel when the process dies, even by ``kill -9``), so a second
  writer of the same folder gets a one-line refusal instead of overwriting the first one's
  files.

Writes that fail for a reason outside the user's control (a full disk, a file too large for
the file system) raise :class:`IOFailure`, which the command line reports in one line with
its own exit status (:data:`EXIT_IO`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

from em_abm.errors import UserError

MB = 1 << 20
TOML_LIMIT = 10 * MB  # scenarios, sweep specs, targets files, calibration configurations
JSON_LIMIT = 64 * MB  # summaries, metadata, manifests
TABLE_LIMIT = 4096 * MB  # Parquet and CSV tables a sweep or calibration wrote
RECORD = ".em-abm.json"  # the files em-abm wrote in a folder
TMP_MARKER = ".em-abm-partial"  # inside a result folder still being written
EXIT_IO = 74  # sysexits.h EX_IOERR: an input/output failure, not a user mistake


class IOFailure(OSError):
    """A write that failed for a reason outside the user's input (a full disk), one line."""


def _size(n: int) -> str:
    return f"{n / MB:,.1f} MB" if n >= MB else f"{n:,} bytes"


# ---------------------------------------------------------------------------- reading
def check_input(path: str | os.PathLike, what: str, *, limit: int) -> Path:
    """``path`` if it is a regular file of at most ``limit`` bytes (a ``what``: "scenario",
    "sweep spec", ...), else a one-line :class:`UserError`. Nothing is opened."""
    path = Path(path)
    allowed = f"allowed: a {what} file of at most {_size(limit)}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; {allowed}") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read the {what} file: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{path}: is a folder; {allowed}")
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{path}: not a regular file (a device, FIFO or socket); {allowed}")
    if st.st_size > limit:
        raise UserError(f"{path}: is {_size(st.st_size)}; {allowed}")
    return path


def read_bytes(path: str | os.PathLike, what: str, *, limit: int = TOML_LIMIT) -> bytes:
    """The contents of a regular file of at most ``limit`` bytes (see :func:`check_input`);
    never reads more than ``limit`` bytes, even from a file that grows while it is read."""
    path = check_input(path, what, limit=limit)
    try:
        # O_NONBLOCK: a FIFO swapped in after the check cannot make open() wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise UserError(f"{path}: not a regular file; allowed: a {what} file")
            data = f.read(limit + 1)
    except OSError as e:
        raise UserError(f"{path}: cannot read the {what} file: {e.strerror}") from None
    if len(data) > limit:
        raise UserError(f"{path}: is over {_size(limit)}; allowed: a {what} file of at most that")
    return data


def read_text(path: str | os.PathLike, what: str, *, limit: int = TOML_LIMIT) -> str:
    try:
        return read_bytes(path, what, limit=limit).decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file; allowed: a {what} file in UTF-8") from None


def read_toml(path: str | os.PathLike, what: str) -> dict:
    """Parse the TOML file ``path`` (a ``what``: "scenario", "sweep spec", ...); every way it
    can fail is one :class:`UserError` line naming the file and what was expected."""
    import tomllib

    text = read_text(path, what, limit=TOML_LIMIT)
    too_deep = f"{path}: tables nested more than {MAX_DEPTH} deep; allowed: a {what} file"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML in the {what} file: {e}") from None
    except RecursionError:  # nesting deep enough to exhaust the parser's stack
        raise UserError(too_deep) from None
    if _depth(data) > MAX_DEPTH:  # every reader after this one may recurse into the tables
        raise UserError(too_deep)
    return data


MAX_DEPTH = 32  # tables and arrays inside each other in an input file (the packaged use 3)


def _depth(data) -> int:
    """How deep tables and arrays nest in ``data`` (without recursion)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def read_json(path: str | os.PathLike, what: str, *, kind: type = dict) -> Any:
    """Parse the JSON file ``path``, which must hold a ``kind`` (a dict by default)."""
    text = read_text(path, what, limit=JSON_LIMIT)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise UserError(f"{path}: not valid JSON; allowed: the {what} em-abm wrote") from None
    if not isinstance(data, kind):
        raise UserError(f"{path}: not the {what} em-abm writes (a JSON {kind.__name__})")
    return data


# ---------------------------------------------------------------------------- output folders
def package_dir() -> Path:
    return Path(__file__).resolve().parent


def resolve_out(out: str | os.PathLike, option: str = "--out") -> Path:
    """``out`` made absolute, through any symbolic links, and checked: not inside the installed
    package, not the current folder or one above it, a name the file system takes."""
    text = os.fspath(out)
    if not text.strip():
        raise UserError(f"{option}: got {text!r}; allowed: a folder name")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"{option}: got {text!r}; allowed: a name in UTF-8") from None
    try:
        path = Path(text).expanduser().resolve()
    except (OSError, RuntimeError) as e:  # a loop of links
        raise UserError(f"{option}: cannot resolve {text}: {e}") from None
    longest = max((len(p) for p in path.parts), default=0)
    if longest > 200 or len(str(path)) > 3000:  # room for the temporary names beside it
        raise UserError(
            f"{option}: {text[:60]}...: a name too long; allowed: names of at most 200 characters"
        )
    pkg = package_dir()
    if path == pkg or pkg in path.parents:
        raise UserError(
            f"{option}: {text} is inside the installed package ({pkg}); allowed: a folder "
            "outside it, e.g. results/NAME"
        )
    cwd = Path.cwd().resolve()
    if path == cwd or path in cwd.parents or path == Path(path.anchor):
        raise UserError(
            f"{option}: {text} is the current folder or one above it; allowed: a new or "
            "em-abm's own folder below it, e.g. results/NAME"
        )
    return path


def _entries(folder: Path) -> list[str]:
    """Every file and folder below ``folder`` as relative paths (links are not followed)."""
    out = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel = Path(root).relative_to(folder)
        for name in (*dirs, *files):
            out.append(str(rel / name) if str(rel) != "." else name)
    return out


def _small_json(path: Path):
    """A regular file's JSON, read only if it is small (never a FIFO, a device or a huge
    file), or None."""
    try:
        if not _regular(path) or os.lstat(path).st_size > MB:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def _record(folder: Path) -> dict | None:
    data = _small_json(folder / RECORD)
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return None
    return data


def _regular(path: Path) -> bool:
    """A regular file, not a link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _stamp(path: Path) -> list[int]:
    st = os.lstat(path)
    return [st.st_size, st.st_mtime_ns]


def _plain(rel: str) -> bool:
    """A relative path inside the folder: no root, no '..', nothing odd."""
    p = Path(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and rel == str(p)


# Results written before the record existed: their files, and what their metadata holds.
_LEGACY = {
    "run": (
        {
            "timeseries.parquet",
            "summary.json",
            "metadata.json",
            "figures/overview.png",
            "figures/breaches.png",
            "figures/system.png",
        },
        {"package": "em-abm"},
        {"schema_version", "params"},
    ),
}  # fmt: skip (a compare folder of before the record has no signature of em-abm's: none)


def ours(folder: Path, kind: str) -> set[str]:
    """The entries of ``folder`` (relative paths, folders included) that em-abm wrote as a
    result of ``kind``: the regular files its record lists, still with the size and time
    it recorded (a file put there later under the same name, or a link, is not em-abm's),
    and the folders holding them. Results written before records existed are recognised by
    their file names and metadata."""
    record = _record(folder)
    if record is not None:
        if record.get("kind") != kind:
            return set()
        found = {RECORD}
        for rel, stamp in record["files"].items():
            if isinstance(rel, str) and _plain(rel) and _regular(folder / rel):
                if _stamp(folder / rel) == stamp:
                    found.add(rel)
    elif kind in _LEGACY:
        names, values, keys = _LEGACY[kind]
        meta = _small_json(folder / "metadata.json")
        if not isinstance(meta, dict) or not keys <= set(meta):
            return set()
        if any(meta.get(k) != v for k, v in values.items()):
            return set()
        found = {rel for rel in names if _regular(folder / rel)}
    else:
        return set()
    dirs = set()
    for rel in found:
        for parent in Path(rel).parents:
            if str(parent) != "." and not (folder / parent).is_symlink():
                dirs.add(str(parent))
    return found | dirs


def check_out_dir(
    out: str | os.PathLike,
    *,
    force: bool,
    kind: str = "run",
    option: str = "--out",
    writes: tuple[str, ...] | None = None,
    own: bool = False,
) -> Path:
    """The resolved output folder for a result of ``kind``, if em-abm may write it (see the
    module docstring); else one :class:`UserError` line naming ``option``. ``writes`` names
    the entries the result will have at its top level (by default every one a ``kind`` may
    write, :data:`TOP_LEVEL`); with ``force``, one of them taken by a file em-abm did not
    write is refused here, before any work. ``own``: a folder em-abm keeps inside one of its
    results (a sweep's ``analysis/``), whose earlier result is replaced without ``force``."""
    path = resolve_out(out, option)
    if path.exists() and not path.is_dir():
        raise UserError(f"{option}: {out} exists and is not a folder; allowed: a folder")
    if path.is_dir():
        try:
            entries = _entries(path)
        except OSError as e:
            raise UserError(f"{option}: cannot read {out}: {e.strerror}") from None
        if entries:
            mine = ours(path, kind)
            foreign = [e for e in entries if e not in mine]
            if not force and not (own and not foreign):
                if foreign:
                    raise UserError(
                        f"{option}: {out} holds files em-abm did not write ({foreign[0]}); "
                        "allowed: an empty or new folder, or --force to write beside them"
                    )
                raise UserError(
                    f"{option}: {out} holds an earlier {kind} result; allowed: a new folder, "
                    "or --force to replace it"
                )
            if foreign:
                clash = _clashes(path, TOP_LEVEL.get(kind, ()) if writes is None else writes,
                                 mine)  # fmt: skip
                if clash:
                    raise UserError(
                        f"{option}: {out}/{clash} was not written by em-abm and a result "
                        "would replace it; allowed: a folder without it"
                    )
    check_writable(path, option)
    return path


# The names a result of each kind writes at its top level (a clash with a file em-abm did not
# write is refused before anything runs).
TOP_LEVEL = {
    "run": ("timeseries.parquet", "summary.json", "summary_flat.json", "metadata.json", "figures"),
    "compare": ("runs.csv", "compare.csv", "metadata.json", "figures", "bands.csv"),
    "runs": ("runs.parquet", "summary.csv", "bands.csv", "metadata.json", "figures"),
    "analysis": ("figures",),
}


def _clashes(path: Path, names: tuple[str, ...], mine: set[str]) -> str | None:
    for name in names:
        target = path / name
        if not (target.exists() or target.is_symlink()):
            continue
        if target.is_symlink():  # a link is never em-abm's to replace
            return name
        if target.is_dir():
            inside = [f"{name}/{e}" for e in _entries(target)]
            if name in mine and all(e in mine for e in inside):
                continue
            return name
        if name not in mine:
            return name
    return None


def check_writable(path: Path, option: str) -> None:
    """Refuse ``path`` if the nearest existing folder above it cannot take a new entry (tried
    by making and removing an empty folder there, which permission bits alone do not tell:
    a read-only mount, /proc). Creates nothing that stays."""
    parent = Path(path).absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{option}: {parent} is a file; allowed: a path inside a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".em-abm-probe-", dir=parent))
    except OSError as e:
        raise UserError(f"{option}: cannot write in {parent}: {e.strerror}") from None


# ---------------------------------------------------------------------------- locks
_held: dict[tuple[Path, int], list] = {}  # (lock file, thread) -> [fd, depth]
_held_lock = threading.Lock()


LOCK_SUFFIX = ".em-abm-lock"


def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}{LOCK_SUFFIX}"


def _open_lock(path: Path, out: Path, option: str) -> int:
    """Open (or create) the lock file; refuse a link or a file that is not em-abm's lock
    (an empty file or a process number), which it would otherwise overwrite."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UserError(f"{option}: {path} is a link; allowed: em-abm's lock file only "
                            "(remove the link)") from None  # fmt: skip
        raise UserError(f"{option}: cannot write in {out.parent}: {e.strerror}") from None
    st = os.fstat(fd)
    content = os.pread(fd, 32, 0) if st.st_size <= 32 else b"x"
    if not stat.S_ISREG(st.st_mode) or not (content.strip().isdigit() or not content):
        os.close(fd)
        raise UserError(
            f"{option}: {path} exists and is not em-abm's lock file; allowed: a folder name "
            "whose lock name is free (remove or rename that file)"
        )
    return fd


@contextlib.contextmanager
def locked(out: str | os.PathLike, option: str = "--out"):
    """Hold an exclusive lock on the output folder ``out`` (already resolved); a second
    process, or another thread, that asks for the same folder gets a one-line
    :class:`UserError`. Re-entrant within one thread. The lock file lies beside the folder
    and is removed on release; a killed holder's lock is released by the kernel."""
    import fcntl

    out = Path(out)
    path = lock_path(out)
    key = (path, threading.get_ident())
    with _held_lock:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_lock:
                _held[key][1] -= 1
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{option}: cannot create {out.parent}: {e.strerror}") from None
    for _ in range(5):
        fd = _open_lock(path, out, option)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(
                f"{option}: {out} is being written by another em-abm process; allowed: "
                "another folder, or the same one when that process has finished"
            ) from None
        # The holder before us may have removed the file after we opened it: lock again.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    else:  # pragma: no cover - five races in a row
        raise UserError(f"{option}: {out}: could not take its lock; allowed: try again")
    with _held_lock:
        if any(k[0] == path for k in _held):  # another thread of this process holds it
            os.close(fd)
            raise UserError(
                f"{option}: {out} is being written by another em-abm run in this process; "
                "allowed: another folder"
            )
        _held[key] = [fd, 1]
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with _held_lock:
            del _held[key]
        with contextlib.suppress(OSError):  # only the file this lock is (not a replacement)
            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                path.unlink()
        os.close(fd)


# ---------------------------------------------------------------------------- writing
@contextlib.contextmanager
def writing(out: str | os.PathLike, *, force: bool, kind: str, option: str = "--out",
            writes: tuple[str, ...] | None = None, own: bool = False):  # fmt: skip
    """Check and lock the output folder ``out``, then yield a temporary folder to write the
    result into; on success the result takes ``out``'s place (see the module docstring), on
    any failure or interruption the temporary folder is deleted and ``out`` is as before."""
    check = dict(force=force, kind=kind, option=option, writes=writes, own=own)
    path = check_out_dir(out, **check)
    with locked(path, option):
        path = check_out_dir(out, **check)  # again, under the lock
        _recover(path)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent))
        (tmp / TMP_MARKER).touch()  # what _recover looks for before it deletes a folder
        try:
            # mkdtemp makes the folder private (0700); a result gets a new folder's usual mode.
            tmp.chmod(0o777 & ~_umask())
            yield tmp
            (tmp / TMP_MARKER).unlink()
            _write_record(tmp, kind)
            _commit(tmp, path, kind)
        except BaseException as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(e, OSError) and not isinstance(e, IOFailure):
                raise as_io_failure(e, path) from None
            raise


def as_io_failure(e: OSError, where: Path) -> IOFailure:
    """An OSError while writing ``where``, as one line."""
    name = e.filename or where
    what = e.strerror or str(e)
    hint = {
        errno.ENOSPC: "; free some space and run again",
        errno.EDQUOT: "; free some space and run again",
        errno.EFBIG: "; the file system refuses a file this large",
    }.get(e.errno, "")
    return IOFailure(e.errno or 0, f"cannot write {name}: {what}{hint}")


def _write_record(tmp: Path, kind: str) -> None:
    """The record of the files em-abm wrote: each with its size and time, so that a file
    put in their place later is not taken for em-abm's (renames keep both)."""
    from em_abm.version import __version__

    files = {e: _stamp(tmp / e) for e in sorted(_entries(tmp)) if _regular(tmp / e)}
    record = {"package": "em-abm", "version": __version__, "kind": kind, "files": files}
    (tmp / RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def _commit(tmp: Path, out: Path, kind: str) -> None:
    """Move the finished ``tmp`` to ``out``: in one rename when ``out`` is new or a complete
    result of ``kind``, else entry by entry beside the files em-abm did not write (replacing
    only entries it wrote before)."""
    entries = _entries(out) if out.is_dir() else []
    if not entries or set(entries) <= ours(out, kind):
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
        return
    mine = ours(out, kind)
    for name in os.listdir(tmp):  # every clash refused before anything moves
        target = out / name
        inside = [f"{name}/{e}" for e in _entries(target)] if target.is_dir() else []
        if (
            (target.exists() or target.is_symlink())
            and name != RECORD
            and (name not in mine or target.is_symlink() or not all(e in mine for e in inside))
        ):
            raise UserError(
                f"{out}/{name} was not written by em-abm and the result would replace it; "
                "nothing was written: allowed: a folder without it"
            )
    # Beside files em-abm did not write, it replaces only its own entries of the same name
    # and deletes nothing else (an earlier result's other files stay).
    for name in sorted(os.listdir(tmp)):
        target = out / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)  # checked: only em-abm's files are inside
        os.replace(tmp / name, target)
    shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the mask means setting it: put it straight back
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _recover(out: Path) -> None:
    """Tidy what a killed write of ``out`` left (its process no longer running): delete its
    temporary folder (one that holds em-abm's marker), and put back a previous result it had
    moved aside to replace (one whose record shows it is em-abm's). Anything else of a
    similar name is left alone."""
    import re

    name = re.escape(out.name)
    tmp = re.compile(rf"\.{name}\.tmp-(\d+)-[A-Za-z0-9_]{{8}}")
    old = re.compile(rf"\.{name}\.old-(\d+)")
    for p in out.parent.iterdir():
        found = tmp.fullmatch(p.name) or old.fullmatch(p.name)
        if not found or p.is_symlink() or not p.is_dir() or _alive(int(found[1])):
            continue
        if found.re is tmp and (p / TMP_MARKER).is_file():
            shutil.rmtree(p, ignore_errors=True)
        elif found.re is old and _record(p) is not None and not out.exists():
            p.rename(out)  # a replaced result put back (otherwise left for the user)
