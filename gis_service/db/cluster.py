"""A private PostgreSQL + PostGIS cluster kept in the project's data directory.

Why: planners should not need a database administrator or a Docker engine. The cluster listens on
127.0.0.1 only, on its own port, with a generated password, and survives restarts. As root the
server runs as the ``postgres`` OS user (``initdb`` and ``postgres`` refuse root); otherwise as the
current user.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "sudo apt-get update && sudo apt-get install -y postgresql-15 "
    "postgresql-15-postgis-3 postgresql-15-pgrouting"
)
EXTENSIONS = ("postgis", "pgrouting")
SERVICE_USER = "postgres"


class ClusterError(RuntimeError):
    """The managed cluster cannot be set up or reached; the message says how to fix it."""


def find_pg_bin(explicit: Path | None = None) -> Path:
    """Locate ``initdb``/``pg_ctl``: the explicit directory only, if given; else Debian's layout
    (newest first), then PATH."""
    if explicit is not None:
        if (Path(explicit) / "initdb").exists() and (Path(explicit) / "pg_ctl").exists():
            return Path(explicit)
        raise ClusterError(f"no initdb/pg_ctl in {explicit} (GIS_SERVICE_PG_BIN_DIR). Install: {INSTALL_HINT}")
    candidates = []
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: -int(p.name))
        candidates += [v / "bin" for v in versions]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for cand in candidates:
        if cand and (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise ClusterError(f"PostgreSQL server binaries (initdb, pg_ctl) not found. Install: {INSTALL_HINT}")


def _is_root() -> bool:
    return os.geteuid() == 0


def _traversable_by(path: Path, uid: int, gid: int) -> bool:
    """Can the user ``uid`` reach ``path`` (execute bit on every existing ancestor)?"""
    for p in [path, *path.parents]:
        if not p.exists():
            continue
        st = p.stat()
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


@dataclass
class LocalCluster:
    """One cluster on disk. ``home`` holds the password and a pointer to the data directory."""

    home: Path
    port: int
    dbname: str = "gis_service"
    bin_dir: Path | None = None
    durable: bool = True  # False only for throwaway test clusters (fsync off)

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()

    # ---- paths -------------------------------------------------------------------------------
    @property
    def server_home(self) -> Path:
        """Where the server's own files live. As root, a home the ``postgres`` user cannot reach
        (e.g. under /root) moves to /var/lib/gis-service/<hash>, named in ``server_home.txt``."""
        pointer = self.home / "server_home.txt"
        if pointer.exists():
            return Path(pointer.read_text().strip())
        if _is_root():
            pg = pwd.getpwnam(SERVICE_USER)
            if not _traversable_by(self.home, pg.pw_uid, pg.pw_gid):
                digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:12]
                return Path("/var/lib/gis-service") / digest
        return self.home / "server"

    @property
    def pgdata(self) -> Path:
        return self.server_home / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.server_home / "run"

    @property
    def logfile(self) -> Path:
        return self.server_home / "log" / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    # ---- commands ------------------------------------------------------------------------------
    def _bin(self, name: str) -> str:
        return str(find_pg_bin(self.bin_dir) / name)

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", SERVICE_USER, "--"] if _is_root() else []
        proc = subprocess.run(prefix + args, capture_output=True, text=True, cwd="/")
        if check and proc.returncode != 0:
            raise ClusterError(f"{Path(args[0]).name} failed ({proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()}")
        return proc

    def _own(self, *paths: Path) -> None:
        for p in paths:
            p.mkdir(parents=True, exist_ok=True)
            if _is_root():
                pg = pwd.getpwnam(SERVICE_USER)
                os.chown(p, pg.pw_uid, pg.pw_gid)
            p.chmod(0o700)

    def is_initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def initialize(self) -> None:
        """Run initdb with a generated password (scram-sha-256) and our server settings."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700 if not _is_root() else 0o755)
        server_home = self.server_home
        if server_home != self.home / "server":
            (self.home / "server_home.txt").write_text(f"{server_home}\n")
        server_home.mkdir(parents=True, exist_ok=True)
        self._own(server_home, self.pgdata, self.socket_dir, self.logfile.parent)
        password = secrets.token_urlsafe(24)
        self.password_file.write_text(password)
        self.password_file.chmod(0o600)
        pwfile = server_home / "initdb.pw"
        pwfile.write_text(password)
        if _is_root():
            pg = pwd.getpwnam(SERVICE_USER)
            os.chown(pwfile, pg.pw_uid, pg.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run([self._bin("initdb"), "-D", str(self.pgdata), "-U", "postgres",
                       "-A", "scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                       "--locale=C.UTF-8"])
        finally:
            pwfile.unlink(missing_ok=True)
        conf = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "max_connections = 50",
            "shared_buffers = '256MB'",
            "maintenance_work_mem = '256MB'",
            "work_mem = '32MB'",
        ]
        if not self.durable:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.pgdata / "postgresql.auto.conf", "a", encoding="utf-8") as fh:
            fh.write("\n".join(conf) + "\n")

    def is_running(self) -> bool:
        if not self.is_initialized():
            return False
        return self._run([self._bin("pg_ctl"), "status", "-D", str(self.pgdata)], check=False).returncode == 0

    def start(self) -> bool:
        """Start (initialising first if needed). Returns False when it was already running."""
        if not self.is_initialized():
            self.initialize()
        if self.is_running():
            return False
        if _port_in_use(self.port):
            raise ClusterError(f"port {self.port} on 127.0.0.1 is used by another program; set "
                               "GIS_SERVICE_DB_PORT to a free port")
        self._run([self._bin("pg_ctl"), "start", "-D", str(self.pgdata), "-l", str(self.logfile),
                   "-w", "-t", "60"])
        return True

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._run([self._bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"])
        return True

    def destroy(self) -> None:
        """Stop and delete everything (used by throwaway test clusters)."""
        self.stop()
        shutil.rmtree(self.server_home, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)

    def password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError as exc:
            raise ClusterError(f"no cluster in {self.home}: run 'gis-service db up' first") from exc

    def url(self, dbname: str | None = None) -> str:
        return (f"postgresql+psycopg://postgres:{self.password()}@127.0.0.1:{self.port}/"
                f"{dbname or self.dbname}")

    def ensure_database(self, dbname: str | None = None) -> bool:
        """Create the database with PostGIS and pgRouting if missing. Returns True if created."""
        import psycopg

        name = dbname or self.dbname
        conninfo = dict(host="127.0.0.1", port=self.port, user="postgres", password=self.password())
        with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(dbname=name, autocommit=True, **conninfo) as conn:
            ensure_extensions(conn)
        return not exists


def ensure_extensions(conn) -> None:
    """CREATE EXTENSION postgis, pgrouting - with the install command when they are missing."""
    available = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions")}
    missing = [e for e in EXTENSIONS if e not in available]
    if missing:
        raise ClusterError(f"PostgreSQL extension(s) {', '.join(missing)} not installed. "
                           f"Install: {INSTALL_HINT}")
    for ext in EXTENSIONS:
        conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext} CASCADE")


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
