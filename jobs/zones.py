"""Who may read which part of the lake, on one machine: owner, group and modes per place.

The places (conf/base/zones.yml): the lake's root, the landing zone, the three zones
`restricted` (data engineers), `analytics` (authorised analysts) and `published` (anyone),
the reports and the Data Docs. Each is owned by one account and one group, with the modes
its folders and files must have. How the modes come about (measured: docs/security.md):

1. Every process of ours runs with a restrictive umask (`zones.umask`, 0027), set once at the
   entry points (the CLI, the nightly flow): what Python, DuckDB, GX and the JVM create is
   0640 / 0750 at most. Hadoop's local file system applies its own umask
   (`fs.permissions.umask-mode`, default 022), so the session factory sets that too.
2. Each place's folder is setgid: whatever is created inside keeps the place's group.
3. The places others may read (published, reports, Data Docs) are opened after they are
   written (`open_for_readers`): the configured read bits are added, never any other.

`guard` runs before the nightly run's first write: it creates missing places with their
settings and refuses (ZoneAccessError) to go on if a zone it writes has drifted.
"""
from __future__ import annotations

import grp
import logging
import os
import pwd
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jobs.config import Config, PlaceAccess, ZonesConfig
from jobs.errors import ConfigError, ZoneAccessError

log = logging.getLogger(__name__)

PLACES = ("lake", "landing", "restricted", "analytics", "published", "reports", "data_docs")
WRITTEN = ("restricted", "analytics", "published", "reports", "data_docs")  # guard refuses if these drift
ADOPTED = ("lake", "landing")  # folders made by others (generator, providers): guard sets their own mode
OTHERS = 0o007


@dataclass(frozen=True)
class Place:
    name: str
    path: Path
    uid: int
    gid: int
    group: str
    dir_mode: int   # the place's folder and every folder in it (with the setgid bit)
    file_mode: int

    @property
    def others_may_read(self) -> bool:
        return bool(self.file_mode & stat.S_IROTH)


@dataclass(frozen=True)
class Finding:
    """One place as found on disk, against its config."""
    place: Place
    exists: bool
    owner: str = ""
    group: str = ""
    mode: int = 0

    @property
    def problems(self) -> list[str]:
        if not self.exists:
            return []
        out = []
        if self.owner != user_name(self.place.uid):
            out.append(f"owner {self.owner} (expected {user_name(self.place.uid)})")
        if self.group != self.place.group:
            out.append(f"group {self.group} (expected {self.place.group})")
        if self.mode != self.place.dir_mode:
            out.append(f"mode {_show(self.mode)} (expected {_show(self.place.dir_mode)})")
        return out


def octal(value: str, where: str) -> int:
    if not (isinstance(value, str) and 3 <= len(value) <= 4 and all(c in "01234567" for c in value)):
        raise ConfigError(f"{where}: expected an octal mode as a quoted string like \"2750\", found {value!r}")
    return int(value, 8)


def current_umask() -> int:
    """This process's umask, read without changing it (Linux: /proc/self/status)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o077)  # elsewhere: set and restore (a moment of a stricter umask, never a looser one)
    os.umask(old)
    return old


def set_umask(cfg: Config) -> int:
    """The process umask from `zones.umask` (entry points call this once); returns the old one."""
    return os.umask(octal(cfg.zones.umask, "zones.umask"))


def places(cfg: Config) -> list[Place]:
    """Every place, outermost first (the lake before its zones, the reports before the Data Docs)."""
    z, paths = cfg.zones, cfg.paths
    uid, groups = _accounts(z)
    where = {"lake": paths.lake_dir(), "landing": paths.landing_dir(), "reports": paths.reports_dir(),
             "data_docs": paths.data_docs_dir(),
             **{zone: paths.zone_dir(zone) for zone in ("restricted", "analytics", "published")}}
    out = []
    for name in PLACES:
        access: PlaceAccess = getattr(z, name)
        if access.group not in groups:
            raise ConfigError(f"zones.{name}.group: expected one of the roles {sorted(groups)}, found {access.group!r}")
        group = groups[access.group]
        out.append(Place(name, where[name], uid, grp.getgrnam(group).gr_gid, group,
                         octal(access.dir_mode, f"zones.{name}.dir_mode"),
                         octal(access.file_mode, f"zones.{name}.file_mode")))
    return sorted(out, key=lambda p: len(p.path.parts))


def inspect(place: Place) -> Finding:
    try:
        st = place.path.stat()
    except FileNotFoundError:
        return Finding(place, exists=False)
    return Finding(place, True, user_name(st.st_uid), group_name(st.st_gid), stat.S_IMODE(st.st_mode))


def guard(cfg: Config) -> list[Place]:
    """Before the first write: umask set, missing places created with their owner, group and mode;
    refuses (ZoneAccessError) if a zone the run writes has another owner, group or mode than
    configured. The folders of the lake's root and of the landing zone (made by the generator or
    the providers' drop) are given their group and mode when the pipeline account owns them
    (the root must let others pass through to `published`); otherwise a drift there is a
    warning here and a violation in `pathways doctor`."""
    set_umask(cfg)
    all_places = places(cfg)
    for place in all_places:
        if place.name in WRITTEN or place.name == "lake":
            _create(place)
        if place.name in ADOPTED and place.path.is_dir() and place.path.stat().st_uid == place.uid and _apply(
                place.path, place.gid, place.dir_mode):
            log.info("zones: %s folder %s given its group and mode", place.name, place.path)
    for finding in map(inspect, all_places):
        if not finding.problems:
            continue
        if finding.place.name in WRITTEN:
            raise ZoneAccessError(_describe(finding, cfg, "Nothing is written until it is fixed"))
        log.warning(_describe(finding, cfg, "The run goes on (it does not write there); fix it"))
    return all_places


def open_for_readers(cfg: Config, *names: str) -> int:
    """Add the configured read bits to every folder and file of the places others may read
    (published, reports, Data Docs; or only those of `names`) after they are written; never
    removes a bit. Idempotent. Returns the number of paths changed."""
    changed = 0
    all_places = places(cfg)
    roots = {p.path for p in all_places}
    for place in all_places:
        if place.others_may_read and place.path.is_dir() and (not names or place.name in names):
            for path, is_dir in walk(place.path, roots - {place.path}):
                changed += _add_bits(path, (place.dir_mode if is_dir else place.file_mode) & 0o077)
    return changed


def fix(cfg: Config) -> tuple[int, list[Path]]:
    """Give every place, and everything in it, its configured group and modes (`doctor --fix`).
    Anything in the lake outside the named places gets the lake's group and no access for
    others. Only what the configured owner owns is changed (a landing zone elsewhere, another
    account's files: listed, left alone). Returns (paths changed, paths left alone)."""
    all_places = places(cfg)
    roots = {p.path for p in all_places}
    changed, foreign = 0, []
    for place in all_places:
        if not place.path.is_dir():
            continue
        inner_dir = place.dir_mode & ~OTHERS if place.name == "lake" else place.dir_mode
        inner_file = place.file_mode & ~OTHERS if place.name == "lake" else place.file_mode
        for path, is_dir in walk(place.path, roots - {place.path}):
            if path.lstat().st_uid != place.uid:
                foreign.append(path)
                continue
            mode = place.dir_mode if path == place.path else inner_dir if is_dir else inner_file
            changed += _apply(path, place.gid, mode)
    return changed, foreign


def exposed(cfg: Config) -> list[tuple[str, Path]]:
    """(place, path) of every folder or file readable by others where its place's config says
    others must not read: what `find <lake> -perm -o+r` should not list."""
    all_places = places(cfg)
    roots = {p.path for p in all_places}
    out = []
    for place in all_places:
        if place.others_may_read or not place.path.is_dir():
            continue
        for path, _ in walk(place.path, roots - {place.path}):
            if path.lstat().st_mode & stat.S_IROTH:
                out.append((place.name, path))
    return out


def walk(root: Path, skip: set[Path]) -> Iterator[tuple[Path, bool]]:
    """(path, is folder) of `root` and everything under it, but not the subtrees in `skip`;
    symbolic links are not followed."""
    yield root, True
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        dirs[:] = [d for d in dirs if base / d not in skip]
        for d in dirs:
            yield base / d, True
        for f in files:
            if not (base / f).is_symlink():
                yield base / f, False


def _create(place: Place) -> None:
    """mkdir -p with this place's group and mode on every folder it creates."""
    missing = [p for p in (place.path, *place.path.parents) if not p.exists()]
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        _apply(path, place.gid, place.dir_mode)


def _apply(path: Path, gid: int, mode: int) -> int:
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):
        return 0
    changed = 0
    try:
        if st.st_gid != gid:
            os.chown(path, -1, gid)
            changed = 1
        if stat.S_IMODE(path.lstat().st_mode) != mode:  # chown may clear the setgid bit
            os.chmod(path, mode)
            changed = 1
    except PermissionError as exc:
        raise ZoneAccessError(
            f"{path}: cannot set group {group_name(gid)} and mode {_show(mode)} as {user_name(os.geteuid())}: "
            f"{exc.strerror}. The pipeline account must own the lake and be a member of every zone's group "
            f"(usermod -aG {group_name(gid)} {user_name(os.geteuid())}; docs/security.md)") from exc
    return changed


def _add_bits(path: Path, bits: int) -> int:
    mode = stat.S_IMODE(path.lstat().st_mode)
    if mode & bits == bits or path.is_symlink():
        return 0
    try:
        os.chmod(path, mode | bits)
    except PermissionError:
        log.warning("%s: cannot add read bits %s (not its owner)", path, _show(bits))
        return 0
    return 1


def _describe(finding: Finding, cfg: Config, consequence: str) -> str:
    place = finding.place
    readers = ", readable by others" if finding.mode & stat.S_IROTH and not place.others_may_read else ""
    return (f"zone {place.name} at {place.path}: expected owner {user_name(place.uid)}, group {place.group}, mode "
            f"{_show(place.dir_mode)}; found owner {finding.owner}, group {finding.group}, mode "
            f"{_show(finding.mode)}{readers}. {consequence}: "
            f"pathways --env {cfg.env} --lake {cfg.paths.lake_dir()} doctor --fix")


def _show(mode: int) -> str:
    return f"{mode:04o} ({stat.filemode(stat.S_IFDIR | mode)[1:]})"


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _accounts(z: ZonesConfig) -> tuple[int, dict[str, str]]:
    return _resolve(z.owner, tuple(sorted(z.groups.items())), z.fallback_to_current_user)


@cache
def _resolve(owner: str, groups: tuple[tuple[str, str], ...], fallback: bool) -> tuple[int, dict[str, str]]:
    """(owner uid, role -> group name); missing accounts fall back to the current user and their
    own group, said once per process."""
    missing = [name for name in (owner, *(g for _, g in groups)) if not _exists(name, owner)]
    if missing and not fallback:
        raise ConfigError(f"zones: accounts {missing} do not exist on this machine; create them (docs/security.md) "
                          "or set zones.fallback_to_current_user")
    me, my_group = user_name(os.geteuid()), group_name(os.getegid())
    if missing:
        log.warning("zones: %s not on this machine: using the current user %s and their own group %s instead "
                    "(a local demo; docs/security.md says how to set up the accounts)", ", ".join(missing), me,
                    my_group)
    uid = os.geteuid() if owner in missing else pwd.getpwnam(owner).pw_uid
    return uid, {role: (my_group if name in missing else name) for role, name in groups}


def _exists(name: str, owner: str) -> bool:
    try:
        (pwd.getpwnam if name == owner else grp.getgrnam)(name)
    except KeyError:
        return False
    return True
