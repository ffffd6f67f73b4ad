"""Walk a workspace: which files are indexed, and reading them safely.

Ignore rules follow git: `.gitignore` at every level (patterns relative to the
folder that holds them, deeper files win), plus `.acolyteignore` files and the
`indexing.exclude` globs in the same syntax. Symlinks are followed only while
they stay inside the workspace and never into a folder already visited.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pathspec

IGNORE_FILE_NAMES = (".gitignore", ".acolyteignore")

# Folders that are never source, and files that may hold secrets, which must
# never reach a vector database (`.acolyte` may hold an API key). Users add
# more with `indexing.exclude`.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".acolyte",
    ".git/",
    ".hg/",
    ".svn/",
    "node_modules/",
    ".venv/",
    "venv/",
    "__pycache__/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".tox/",
    "dist/",
    "build/",
    "target/",
    "*.egg-info/",
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".git-credentials",
    ".htpasswd",
    "*.jks",
    "*.keystore",
)

_BINARY_SNIFF_BYTES = 8192
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class SourceFile:
    """A file chosen for indexing: its absolute path and its POSIX path relative to the root."""

    path: Path
    rel_path: str


@dataclass(frozen=True)
class FileText:
    """A file's decoded text and the hash of its bytes."""

    text: str
    file_hash: str


class FileSkipped(Exception):
    """A file that is not indexed, with a reason a user can act on."""

    def __init__(self, rel_path: str, reason: str, warn: bool = False) -> None:
        super().__init__(f"{rel_path}: {reason}")
        self.rel_path = rel_path
        self.reason = reason
        self.warn = warn  # the user should hear of it (binary or huge files are routine)


@dataclass
class _IgnoreLevel:
    base: PurePosixPath
    spec: pathspec.GitIgnoreSpec
    prefix: str = ""  # "base/" (empty at the root): what a path under this level starts with

    def __post_init__(self) -> None:
        self.prefix = "" if self.base == PurePosixPath(".") else f"{self.base}/"


class _AnyPattern:
    """Patterns without negations, matched by one combined regular expression.

    The same answer as `GitIgnoreSpec.match_file` (with no `!` pattern, any match
    ignores), in one regex call instead of one per pattern: discovery asks it for
    every path in the tree.
    """

    def __init__(self, spec: pathspec.GitIgnoreSpec) -> None:
        parts = [p.regex.pattern.replace("(?P<ps_d>", "(?:") for p in spec.patterns if p.include is not None and p.regex is not None]
        self._regex = re.compile("|".join(f"(?:{part})" for part in parts)) if parts else None

    @staticmethod
    def fits(spec: pathspec.GitIgnoreSpec) -> bool:
        return all(p.include is not False and getattr(p, "regex", None) is not None for p in spec.patterns if p.include is not None)

    def match_file(self, path: str) -> bool:
        return self._regex is not None and self._regex.match(path) is not None


class IgnoreRules:
    """Git-style ignore rules for one workspace root, built as the walk goes down.

    Fixed excludes (defaults, `indexing.exclude`) always win; then `.git/info/exclude`
    and the ignore files decide, the deepest matching pattern last; when
    `indexing.include` is set, a file must also match one of its patterns.
    """

    def __init__(self, root: Path, exclude: Sequence[str] = (), include: Sequence[str] = ()) -> None:
        self.root = root
        root_spec = pathspec.GitIgnoreSpec.from_lines([*DEFAULT_EXCLUDES, *exclude])
        self._root_spec: pathspec.GitIgnoreSpec | _AnyPattern = (
            _AnyPattern(root_spec) if _AnyPattern.fits(root_spec) else root_spec
        )
        self._include = pathspec.GitIgnoreSpec.from_lines(include) if include else None
        self.base_levels: list[_IgnoreLevel] = []
        git_exclude = root / ".git" / "info" / "exclude"
        if git_exclude.is_file():
            try:
                lines = git_exclude.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines = []
            self.base_levels.append(_IgnoreLevel(PurePosixPath("."), pathspec.GitIgnoreSpec.from_lines(lines)))

    def allows_file(self, rel_path: str) -> bool:
        """Whether `discover_files` would choose this file (for saves and file events)."""
        return _levels_down_to(self.root, rel_path, self, is_file=True) is not None

    def is_ignored(self, rel_path: str, is_dir: bool, levels: Sequence[_IgnoreLevel]) -> bool:
        """Whether `rel_path` is ignored; the deepest ignore file with a matching pattern decides."""
        candidate = rel_path + "/" if is_dir else rel_path
        if self._root_spec.match_file(candidate):
            return True
        if not is_dir and self._include is not None and not self._include.match_file(candidate):
            return True
        decision = False
        for level in levels:
            if not candidate.startswith(level.prefix):
                continue
            local = candidate[len(level.prefix):]
            result = level.spec.check_file(local)
            if result.include is not None:
                decision = result.include
        return decision


def _read_ignore_files(folder: Path) -> list[str]:
    lines: list[str] = []
    for name in IGNORE_FILE_NAMES:
        candidate = folder / name
        if candidate.is_file():
            try:
                lines.extend(candidate.read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                continue
    return lines


def discover_files(
    root: Path, exclude: Sequence[str] = (), include: Sequence[str] = (), under: str | None = None
) -> Iterator[SourceFile]:
    """Yield every regular file under `root` (or its subfolder `under`) that the ignore rules let through."""
    root = root.resolve()
    rules = IgnoreRules(root, exclude, include)
    visited: set[tuple[int, int]] = set()
    if under is None:
        yield from _walk(root, root, PurePosixPath("."), rules, list(rules.base_levels), visited)
        return
    levels = _levels_down_to(root, under, rules)
    if levels is None:
        return  # the folder itself is ignored
    yield from _walk(root, root / under, PurePosixPath(under), rules, levels, visited)


def _levels_down_to(root: Path, rel_path: str, rules: IgnoreRules, is_file: bool = False) -> list[_IgnoreLevel] | None:
    """The ignore files in force at `rel_path`, or None when a folder on the way (or it) is ignored."""
    levels: list[_IgnoreLevel] = list(rules.base_levels)
    parts = PurePosixPath(rel_path).parts
    folder = root
    rel_folder = PurePosixPath(".")
    for depth, part in enumerate(parts):
        own = _read_ignore_files(folder)
        if own:
            levels.append(_IgnoreLevel(rel_folder, pathspec.GitIgnoreSpec.from_lines(own)))
        rel = "/".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        if rules.is_ignored(rel, not (last and is_file), levels):
            return None
        folder = folder / part
        rel_folder = PurePosixPath(rel)
    return levels


def _walk(
    root: Path,
    folder: Path,
    rel_folder: PurePosixPath,
    rules: IgnoreRules,
    levels: list[_IgnoreLevel],
    visited: set[tuple[int, int]],
) -> Iterator[SourceFile]:
    try:
        stat = folder.stat()
    except OSError:
        return
    key = (stat.st_dev, stat.st_ino)
    if key in visited:  # a symlink loop or a second link to the same folder
        return
    visited.add(key)
    own_lines = _read_ignore_files(folder)
    if own_lines:
        levels = [*levels, _IgnoreLevel(rel_folder, pathspec.GitIgnoreSpec.from_lines(own_lines))]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    prefix = "" if rel_folder == PurePosixPath(".") else f"{rel_folder}/"
    for entry in entries:
        rel = prefix + entry.name
        try:
            if entry.is_symlink() and not _inside(root, Path(entry.path)):
                continue
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError:
            continue
        if rules.is_ignored(rel, is_dir, levels):
            continue
        if is_dir:
            yield from _walk(root, Path(entry.path), PurePosixPath(rel), rules, levels, visited)
        elif is_file:
            yield SourceFile(Path(entry.path), rel)


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def relative_posix(root: Path, path: Path) -> str | None:
    """`path` relative to `root` in POSIX form, or None when it lies outside."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):
        return None


def is_indexable(root: Path, rel_path: str, exclude: Sequence[str] = (), include: Sequence[str] = ()) -> bool:
    """Whether a single file would be chosen by `discover_files` (used for saves and file events)."""
    return IgnoreRules(root, exclude, include).allows_file(rel_path)


def read_source(file: SourceFile, max_size_bytes: int) -> FileText:
    """Read and decode a file; raise `FileSkipped` for non-regular, oversized, binary or undecodable files."""
    try:
        stat = file.path.stat()
    except OSError as err:
        raise FileSkipped(file.rel_path, f"cannot read ({err.strerror or err})") from err
    if not file.path.is_file():
        raise FileSkipped(file.rel_path, "not a regular file")
    if stat.st_size > max_size_bytes:
        raise FileSkipped(
            file.rel_path,
            f"larger than indexing.max_file_size_kb ({stat.st_size // 1024} KiB > {max_size_bytes // 1024} KiB)",
        )
    try:
        data = file.path.read_bytes()
    except OSError as err:
        raise FileSkipped(file.rel_path, f"cannot read ({err.strerror or err})") from err
    return FileText(decode_text(file.rel_path, data), hashlib.sha256(data).hexdigest())


def decode_text(rel_path: str, data: bytes) -> str:
    """Decode UTF-8 (BOM allowed), BOM-marked UTF-16, or else Windows-1252 (a superset of Latin-1).

    Files with NUL bytes are binary. Windows-1252 is the legacy encoding most
    old source files use; it is accepted only when the result holds no control
    characters, so a wrong guess is not stored as garbage.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise FileSkipped(rel_path, "not valid UTF-16 text") from err
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise FileSkipped(rel_path, "binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        utf8_error = err
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _CONTROL.search(text):
        return text
    raise FileSkipped(rel_path, f"not UTF-8 text (invalid byte at offset {utf8_error.start}) nor Windows-1252")
