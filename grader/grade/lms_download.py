"""Reading an LMS's "download all submissions" (a zip, or the folder it was extracted to).

The names follow the platforms' own code (tests cite the functions):

- **Moodle**, ``mod/assign/classes/downloader.php`` (``get_student_prefix``,
  ``load_submissionplugin_filelist``; before 4.1 ``assign::download_submissions`` in
  ``mod/assign/locallib.php``): one folder per participant
  ``<Full name>_<participantid>_assignsubmission_file/<file>`` (before 4.1 the folder name
  ends with ``_``), or flat ``<Full name>_<participantid>_assignsubmission_file_<file>``.
  Under blind marking the name is ``Participant``; team submissions are named
  ``<group>_<groupid>``.  Online text is ``…_assignsubmission_onlinetext/onlinetext.html``.
- **Canvas**, ``lib/content_zipper.rb`` (``get_filename``, ``add_upload_submission``): flat
  ``<sortablename>[_LATE]_<userid>_<attachmentid>_<file>``; under anonymous grading
  ``[LATE_]anon_<anonymousid>_<attachmentid>_<file>``.

A zip is hostile input: it is read in memory, entry by entry and within bounds
(:data:`MAX_ENTRIES`, :data:`MAX_JSON_BYTES`, :data:`MAX_TOTAL_BYTES`, :data:`MAX_RATIO`);
nothing is extracted.  An entry that cannot be read (a path that climbs out, a link, a
zip inside, a bomb) becomes an :class:`Upload` with a ``problem``, never an exception.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

MAX_ENTRIES = 10_000
MAX_JSON_BYTES = 5_000_000  # per entry we read (submissions are far smaller)
MAX_TOTAL_BYTES = 200_000_000  # uncompressed, over the entries we read
MAX_RATIO = 100  # uncompressed / compressed size of one entry
PLATFORMS = ("moodle", "canvas")

# Moodle: "<prefix>[_<id>]_assignsubmission_<plugin>" where the prefix has no "_" (the
# downloader replaced every "_" of the name with a space).
_MOODLE_FOLDER = re.compile(
    r"^(?P<prefix>[^_/]+?)(?:_(?P<id>\d+))?_assignsubmission_(?P<plugin>[a-z]+)(?P<trail>_?)$"
)
_MOODLE_FLAT = re.compile(
    r"^(?P<prefix>[^_/]+?)(?:_(?P<id>\d+))?_assignsubmission_(?P<plugin>file|onlinetext)_(?P<file>[^/]+)$"
)
# Canvas: the user part is made only of word characters (content_zipper's sanitize_file_name)
_CANVAS_ANON = re.compile(
    r"^(?P<late>LATE_)?anon_(?P<anon>[A-Za-z0-9]+)_(?P<att>\d+)_(?P<file>[^/]+)$"
)
_CANVAS_USER = re.compile(
    r"^(?P<name>\w*?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<att>\d+)_(?P<file>[^/]+)$"
)
# what Moodle writes for a blind-marked participant (get_string('participant', 'mod_assign'))
BLIND_NAMES = frozenset({"participant", "участник"})


@dataclass(frozen=True)
class Upload:
    """One file a person handed in, as the download shows it."""

    platform: str  # moodle or canvas
    entry: str  # the entry's path inside the download (for messages)
    folder: str  # Moodle: the participant's folder (flat: the prefix) exactly as downloaded
    person: str  # Moodle: full name, group name or "Participant"; Canvas: sortable name
    participant: str  # Moodle participant (or group) id; Canvas user id or anonymous id
    kind: str  # "person", "blind", "group" or "anonymous"
    file_name: str
    when: tuple[int, int, int, int, int, int]  # the entry's time (zip: local date and time)
    attachment: str = ""  # Canvas attachment id
    late: bool = False
    data: bytes | None = None
    problem: str | None = None  # why the file cannot be read; data is None then

    @property
    def is_json(self) -> bool:
        return self.file_name.lower().endswith(".json") or self.file_name == "onlinetext.html"


@dataclass
class Download:
    platform: str
    source: str
    uploads: list[Upload]
    problems: list[str]  # entries that belong to nobody, or a whole-archive problem
    ignored: list[str]  # entries that are not answer files (a PDF beside the JSON)


class _Entry:
    """A file in a zip or a folder: its name, time, and a way to read it within bounds."""

    def __init__(
        self,
        name: str,
        when: tuple[int, ...],
        problem: str | None,
        reader: Callable[[], bytes] | None = None,
    ) -> None:
        self.name = name
        padded = (*when[:6], 0, 0, 0, 0, 0, 0)[:6]
        self.when: tuple[int, int, int, int, int, int] = (
            padded[0],
            padded[1],
            padded[2],
            padded[3],
            padded[4],
            padded[5],
        )
        self.problem = problem
        self.reader = reader


def is_download(path: Path) -> str | None:
    """``moodle`` or ``canvas`` when ``path`` (a zip or a folder) looks like that
    platform's download, else None (a folder of plain submission files)."""
    names: list[str] = []
    try:
        if path.is_file() and zipfile.is_zipfile(path):
            if _declared_entries(path) > MAX_ENTRIES:
                return "moodle"  # whichever: reading it refuses it with its reason
            with zipfile.ZipFile(path) as zf:
                names = [_decode_name(i) for i in zf.infolist()[:MAX_ENTRIES]]
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
                base = Path(dirpath).relative_to(path)
                names += [(base / n).as_posix() for n in sorted(dirnames) + sorted(filenames)]
                if len(names) >= MAX_ENTRIES:  # enough to tell; never a walk of a huge tree
                    break
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError):
        return "moodle" if path.suffix.lower() == ".zip" else None
    return detect(names)


def detect(names: list[str]) -> str | None:
    """The platform the entry names come from: Moodle's names are unmistakable
    (``_assignsubmission_``); Canvas's need every answer file to follow its pattern."""
    firsts = [n.split("/")[0] for n in names]
    if any(_MOODLE_FOLDER.match(f) or _MOODLE_FLAT.match(f) for f in firsts):
        return "moodle"
    flat = [n for n in names if "/" not in n.strip("/") and n.lower().endswith(".json")]
    if flat and all(_CANVAS_ANON.match(n) or _CANVAS_USER.match(n) for n in flat):
        return "canvas"
    return None


def read_download(path: Path, platform: str) -> Download:
    """Every file of a download as :class:`Upload` s (problems included), in entry order."""
    source = str(path)
    uploads: list[Upload] = []
    problems: list[str] = []
    ignored: list[str] = []
    seen: set[str] = set()
    try:
        entries = _zip_entries(path) if path.is_file() else _folder_entries(path)
        for entry in entries:
            key = unicodedata.normalize("NFC", entry.name).casefold()
            duplicate = key in seen
            seen.add(key)
            upload = _upload(platform, entry, source)
            if upload is None:
                if entry.problem:
                    problems.append(f"{source}: {_shown(entry.name)}: {entry.problem}")
                elif entry.name.lower().endswith(".json"):
                    problems.append(
                        f"{source}: {_shown(entry.name)}: the name follows none of "
                        f"{platform.capitalize()}'s download rules, so whose it is is unknown"
                    )
                elif not entry.name.endswith("/"):
                    ignored.append(entry.name)
                continue
            if duplicate and upload.problem is None:
                upload = _with_problem(
                    upload, "the download holds this file name twice; neither copy is trusted"
                )
                uploads = [
                    _with_problem(u, upload.problem or "") if _same(u, upload) else u
                    for u in uploads
                ]
            if not upload.is_json and upload.problem is None:
                ignored.append(entry.name)
                continue
            uploads.append(upload)
    except _ArchiveProblem as exc:
        problems.append(f"{source}: {exc}")
    return Download(platform, source, uploads, problems, ignored)


def _same(a: Upload, b: Upload) -> bool:
    return (
        unicodedata.normalize("NFC", a.entry).casefold()
        == unicodedata.normalize("NFC", b.entry).casefold()
    )


def _with_problem(upload: Upload, problem: str) -> Upload:
    from dataclasses import replace

    return replace(upload, data=None, problem=problem)


class _ArchiveProblem(Exception):
    """The archive as a whole cannot be read (not a zip, too many entries)."""


# ---------------------------------------------------------------- names


def _upload(platform: str, entry: _Entry, source: str) -> Upload | None:
    """The entry as a person's upload, or None when its name follows no rule of the
    platform (such an entry belongs to nobody)."""
    name = entry.name.strip("/")
    parsed = _parse_moodle(name) if platform == "moodle" else _parse_canvas(name)
    if parsed is None:
        return None
    data: bytes | None = None
    problem = entry.problem
    if problem is None and (
        parsed["file_name"].lower().endswith(".json") or parsed["file_name"] == "onlinetext.html"
    ):
        try:
            data = entry.reader() if entry.reader is not None else None
        except _EntryProblem as exc:
            problem = str(exc)
        if data is not None and parsed["file_name"] == "onlinetext.html":
            data = _online_text(data)
    return Upload(
        platform=platform,
        entry=name,
        when=entry.when,
        data=data,
        problem=problem,
        **parsed,
    )


def _parse_moodle(name: str) -> dict[str, Any] | None:
    parts = name.split("/")
    folder_match = _MOODLE_FOLDER.match(parts[0]) if len(parts) > 1 else None
    if folder_match:
        m, folder, file_name = folder_match, parts[0], parts[-1]
    else:
        flat = _MOODLE_FLAT.match(parts[0]) if len(parts) == 1 else None
        if not flat:
            return None
        m, file_name = flat, flat.group("file")
        folder = parts[0][: flat.start("file") - 1]
    prefix, ident = m.group("prefix"), m.group("id") or ""
    if prefix.casefold() in BLIND_NAMES and ident:
        kind = "blind"
    elif not ident:
        kind = "group"  # "Default group" has no id; a named group is told apart by the roster
    else:
        kind = "person"
    return {
        "folder": folder,
        "person": prefix,
        "participant": ident,
        "kind": kind,
        "file_name": file_name,
    }


def _parse_canvas(name: str) -> dict[str, Any] | None:
    if "/" in name:
        return None
    anon = _CANVAS_ANON.match(name)
    if anon:
        return {
            "folder": name[: anon.start("file") - 1],
            "person": "",
            "participant": anon.group("anon"),
            "kind": "anonymous",
            "file_name": anon.group("file"),
            "attachment": anon.group("att"),
            "late": bool(anon.group("late")),
        }
    m = _CANVAS_USER.match(name)
    if not m:
        return None
    return {
        "folder": name[: m.start("file") - 1],
        "person": m.group("name"),
        "participant": m.group("uid"),
        "kind": "person",
        "file_name": m.group("file"),
        "attachment": m.group("att"),
        "late": bool(m.group("late")),
    }


_TAG = re.compile(r"<[^>]*>")


def _online_text(raw: bytes) -> bytes:
    """Moodle's online text arrives as HTML: the JSON is its text (tags dropped, entities
    decoded).  Only text is taken out; nothing of it is ever evaluated."""
    import html

    text = raw.decode("utf-8", errors="replace")
    text = re.sub(r"(?i)<br\s*/?>|</p>", "\n", text)
    return html.unescape(_TAG.sub("", text)).encode("utf-8")


# ---------------------------------------------------------------- zips


class _EntryProblem(Exception):
    pass


def _decode_name(info: zipfile.ZipInfo) -> str:
    """The entry's name.  Flag bit 11 says UTF-8 (zipfile has decoded it); otherwise the
    bytes are cp437 by the standard, but Russian archivers wrote cp866 and many tools
    wrote UTF-8 without the flag: take UTF-8 if the bytes are valid UTF-8, else cp866
    when that reads as Cyrillic, else cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    if raw.isascii():
        return info.filename
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    russian = raw.decode("cp866")
    letters = [c for c in russian if not c.isascii()]
    if letters and all("\u0400" <= c <= "\u04ff" for c in letters):
        return russian
    return info.filename


def _unsafe_path(name: str) -> str | None:
    """Why a path inside a download must not be trusted, or None."""
    if "\x00" in name:
        return "the name holds a NUL character"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        return "an absolute path (a zip must only hold relative paths)"
    if ".." in PurePosixPath(posix).parts:
        return "a path with '..' (it would reach outside the folder)"
    return None


def _declared_entries(path: Path) -> int:
    """The entry count the zip's end record declares (zip64 too), read before zipfile
    parses the central directory: a directory of millions of entries is never loaded."""
    import struct

    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 65_557))  # the end record and its longest comment
            tail = handle.read()
    except OSError:
        return 0
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return 0
    count = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    locator = tail.rfind(b"PK\x06\x07", 0, at)
    z64 = tail.rfind(b"PK\x06\x06", 0, locator if locator >= 0 else at)
    if count == 0xFFFF and z64 >= 0 and z64 + 40 <= len(tail):
        count = struct.unpack("<Q", tail[z64 + 32 : z64 + 40])[0]
    return int(count)


def _zip_entries(path: Path) -> Iterator[_Entry]:
    declared = _declared_entries(path)
    if declared > MAX_ENTRIES:
        raise _ArchiveProblem(
            f"the zip holds {declared} entries, more than the {MAX_ENTRIES} allowed "
            "(a zip bomb?); nothing in it was read"
        )
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise _ArchiveProblem(f"not a readable zip file ({exc})") from None
    except OSError as exc:
        raise _ArchiveProblem(f"cannot read: {exc.strerror or exc}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _ArchiveProblem(
                f"the zip holds {len(infos)} entries, more than the {MAX_ENTRIES} allowed "
                "(a zip bomb?); nothing in it was read"
            )
        budget = [MAX_TOTAL_BYTES]
        for info in infos:
            if not info.filename:  # a crafted entry (zipfile's is_dir would fail on it)
                yield _Entry("(an entry without a name)", info.date_time, "an entry without a name")
                continue
            name = _decode_name(info)
            if info.is_dir():
                continue
            yield _Entry(
                name, info.date_time, _zip_problem(info, name), _zip_reader(zf, info, budget)
            )


def _zip_problem(info: zipfile.ZipInfo, name: str) -> str | None:
    unsafe = _unsafe_path(name)
    if unsafe:
        return unsafe
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return "a symbolic link (not a file); not followed"
    if info.flag_bits & 0x1:
        return "an encrypted entry; cannot be read"
    if name.lower().endswith((".zip", ".jar", ".7z", ".rar", ".tar", ".gz")):
        return (
            "an archive inside the download; archives are not opened (hand in the JSON file itself)"
        )
    return None


def _zip_reader(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]
) -> Callable[[], bytes]:
    def read() -> bytes:
        if info.file_size > MAX_JSON_BYTES:
            raise _EntryProblem(
                f"the file is {info.file_size} bytes uncompressed, more than {MAX_JSON_BYTES}"
            )
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 10_000:
            raise _EntryProblem(
                f"compressed more than {MAX_RATIO} times (a zip bomb?); not unpacked"
            )
        if info.file_size > budget[0]:
            raise _EntryProblem(
                f"the download unpacks to more than {MAX_TOTAL_BYTES} bytes; not unpacked"
            )
        try:
            with zf.open(info) as handle:
                # the header's size may lie: never read more than it promised (+1 tells)
                data = handle.read(min(info.file_size, MAX_JSON_BYTES) + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as exc:
            raise _EntryProblem(f"cannot unpack this entry ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - zlib and friends: a bad entry, not a crash
            raise _EntryProblem(f"cannot unpack this entry ({type(exc).__name__})") from None
        if len(data) > info.file_size:
            raise _EntryProblem("the entry unpacks to more than its header says; not trusted")
        budget[0] -= len(data)
        if data.startswith(b"PK\x03\x04"):
            raise _EntryProblem("a zip file inside the download; archives are not opened")
        return data

    return read


# ---------------------------------------------------------------- folders


def _folder_entries(root: Path) -> Iterator[_Entry]:
    """The files under an extracted download: links are named, never followed."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames if Path(dirpath, d).is_symlink()]:
            full = Path(dirpath, name)
            rel = full.relative_to(root).as_posix()
            count += 1
            if count > MAX_ENTRIES:
                raise _ArchiveProblem(f"more than {MAX_ENTRIES} files; stopped reading")
            try:
                st = full.lstat()
            except OSError as exc:
                yield _Entry(rel, (1980, 1, 1, 0, 0, 0), f"cannot read: {exc.strerror}")
                continue
            when = _local_time(st.st_mtime)
            if stat.S_ISLNK(st.st_mode):
                yield _Entry(rel, when, "a symbolic link (not a file); not followed")
            elif not stat.S_ISREG(st.st_mode):
                yield _Entry(rel, when, "not a regular file")
            else:
                yield _Entry(rel, when, None, _file_reader(full, st.st_size))


def _local_time(seconds: float) -> tuple[int, ...]:
    import time

    return tuple(time.localtime(seconds))[:6]


def _file_reader(path: Path, size: int) -> Callable[[], bytes]:
    def read() -> bytes:
        if size > MAX_JSON_BYTES:
            raise _EntryProblem(f"the file is {size} bytes, more than {MAX_JSON_BYTES}")
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(MAX_JSON_BYTES + 1)
        except OSError as exc:
            raise _EntryProblem(f"cannot read: {exc.strerror or exc}") from None
        if len(data) > MAX_JSON_BYTES:
            raise _EntryProblem(f"the file is larger than {MAX_JSON_BYTES} bytes")
        return data

    return read


def _shown(text: str) -> str:
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:200])
    return clean
