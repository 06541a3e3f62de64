"""Background jobs: coverage and scale-up runs asked for over HTTP. A job is a row of ``job``; a
worker process (``python -m gis_service.job_queue``) claims queued rows and runs them with the same
``run_coverage`` / ``run_scaleup`` as the CLI, so a job outlives the request and the client that
asked for it, and the API's threads stay free for the map while a scenario runs.

The server starts up to ``max_jobs`` workers when a job is submitted (``ensure_workers``); a
worker imports the analyses once and then polls the queue, so a job starts within a fraction of
a second instead of after the ~3 s of importing them; it ends after ``idle_minutes`` without
work, when its server is gone and nothing is queued, or when the database goes away. At most
``max_jobs`` run at once (the claim is serialised by an advisory lock). Progress is the
analysis's own steps, written on a second connection. Cancelling a queued job just marks it; a
running one's worker is sent SIGTERM, which aborts the run's single transaction, so a cancelled
or failed job leaves no half-written run behind, and the worker goes on with the queue.

There is one job system: OGC API – Processes executions (``api/ogc_jobs.py``) are rows here too,
submitted through ``submit`` with the same checks and limits as ``POST /api/jobs``. A running job
has a lease: its worker renews ``heartbeat_at`` every quarter of ``job_lease_s``, and a job whose
worker fell silent for longer (the worker died, or its machine did) is marked failed on any host.
A job started over OGC with a subscriber has its callbacks POSTed by the worker, to allowed hosts
only."""

from __future__ import annotations

import json
import logging
import os
import socket
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine, text

from gis_service.analysis.coverage import METHODS
from gis_service.analysis.demand import MODES
from gis_service.db.users import User

log = logging.getLogger("gis_service.job_queue")
HOST = socket.gethostname()  # a job's pid means something only on its worker's host
CLAIM_LOCK = 7_260_001  # pg advisory lock key serialising claims
SUBMIT_LOCK = 7_260_002  # and the one serialising submissions (the limits are counted under it)
STEPS = {"coverage": ["loading", "service areas and allocation", "ladder and gaps", "writing results"],
         "scaleup": ["loading", "siting", "costs, phases and requirements", "writing results"]}
COLUMNS = ("id, kind, scenario_id, scenario, options, status, step, progress, result, error, user_name, created_at, "
           "started_at, finished_at, ogc")
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class JobLimits:
    """How many jobs run at once, per user and waiting, and the lease of a running one (settings)."""

    running: int = 1
    per_user: int = 3
    queued: int = 20
    lease_s: float = 60.0

    @classmethod
    def of(cls, settings) -> "JobLimits":
        return cls(settings.max_jobs, settings.max_jobs_per_user, settings.max_queued_jobs, settings.job_lease_s)


class JobRefused(ValueError):
    """A job that cannot be submitted. ``field`` names the input at fault (None: a limit);
    ``reason`` is ``unknown`` (a named thing does not exist), ``invalid``, ``limit`` or ``forbidden``."""

    def __init__(self, message: str, *, field: str | None, reason: str):
        super().__init__(message)
        self.field, self.reason = field, reason


class CoverageJobOptions(BaseModel):
    """The inputs of ``gis-service coverage run`` (and of the OGC process ``coverage``)."""

    model_config = ConfigDict(extra="forbid")
    method: Literal[METHODS] = "network"  # type: ignore[valid-type]
    thresholds: list[Annotated[float, Field(gt=0, le=1440)]] | None = Field(None, min_length=1, max_length=10,
                                           description="Travel-time bands in minutes (network)")
    distance_m: float = Field(5000, gt=0, le=100_000, description="Buffer radius (buffer)")
    capacity: bool = True
    demand: Literal[tuple(m for m in MODES if m != "raster")] = "households"  # type: ignore[valid-type]
    nearest_k: int = Field(3, ge=0, le=10)


class ScaleupJobOptions(BaseModel):
    """The inputs of ``gis-service scaleup run``."""

    model_config = ConfigDict(extra="forbid")
    region: str | None = Field(None, description="Kemendagri code(s), comma-separated; none: the scenario's")
    model: Literal["exact", "greedy", "both"] | None = None
    calibration: Literal["pilot", "defaults"] | None = None
    time_limit: float = Field(60.0, gt=0, le=600, description="Seconds per exact siting solve")


class JobCancelled(KeyboardInterrupt):
    """Raised in the worker by SIGTERM: unwinds (and rolls back) the running analysis. A
    KeyboardInterrupt, because psycopg then cancels a query in flight and waits for the server
    to stop it, instead of leaving the connection busy (whose rollback would fail, turning the
    cancel into a failure)."""


def submit(conn: Connection, kind: str, scenario: str | None, options: BaseModel, *, user: str,
           limits: JobLimits, ogc: dict | None = None) -> int:
    """Queue a job after the checks every caller shares: the scenario and region codes exist, the
    user has fewer than ``limits.per_user`` jobs queued or running, and fewer than
    ``limits.queued`` wait in all. Raises ``JobRefused``; returns the job's id."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SUBMIT_LOCK})
    scenario_id = None
    if scenario is not None:
        scenario_id = conn.execute(text("SELECT id FROM scenario WHERE name = :n"), {"n": scenario}).scalar()
        if scenario_id is None:
            raise JobRefused(f"unknown scenario '{scenario}'; GET /api/scenarios lists them", field="scenario",
                             reason="unknown")
    region = getattr(options, "region", None)
    unknown = [c.strip() for c in (region or "").split(",") if c.strip() and conn.execute(
        text("SELECT 1 FROM admin_area WHERE code = :c"), {"c": c.strip()}).first() is None]
    if unknown:
        raise JobRefused(f"unknown region code {', '.join(unknown)}; use loaded Kemendagri codes",
                         field="region", reason="invalid")
    mine = conn.execute(text("SELECT count(*) FROM job WHERE user_name = :u AND status IN ('queued', 'running')"),
                        {"u": user}).scalar()
    if mine >= limits.per_user:
        raise JobRefused(f"user {user} already has {mine} jobs queued or running (at most {limits.per_user}, "
                         "GIS_SERVICE_MAX_JOBS_PER_USER); wait for one to end or cancel one", field=None,
                         reason="limit")
    waiting = conn.execute(text("SELECT count(*) FROM job WHERE status = 'queued'")).scalar()
    if waiting >= limits.queued:
        raise JobRefused(f"{waiting} jobs are waiting already (at most {limits.queued}, "
                         "GIS_SERVICE_MAX_QUEUED_JOBS); try again later", field=None, reason="limit")
    return conn.execute(text(
        "INSERT INTO job (kind, scenario_id, scenario, options, user_name, ogc) "
        "VALUES (:k, :sid, :s, CAST(:o AS jsonb), :u, CAST(:g AS jsonb)) RETURNING id"),
        {"k": kind, "sid": scenario_id, "s": scenario, "o": options.model_dump_json(), "u": user,
         "g": json.dumps(ogc) if ogc is not None else None}).scalar_one()


def ogc_outputs(result: dict, response: str = "raw") -> dict:
    """A succeeded job's result as OGC API – Processes outputs: the value of the output ``run``,
    alone (``raw``) or in a results document (``document``)."""
    output = {"id": "run", "value": result}
    return {"outputs": [output]} if response == "document" else output


_workers: dict[str, list[subprocess.Popen]] = {}  # this process's workers, by database
_workers_lock = threading.Lock()  # request threads submit jobs at the same time


def ensure_workers(count: int, database_url: str) -> None:
    """Keep ``count`` workers of this process alive for the database. They run in their own
    session, so that they do not share the server's signals (Ctrl-C on ``gis-service serve``
    lets a running job finish)."""
    with _workers_lock:
        alive = _workers[database_url] = [w for w in _workers.get(database_url, []) if w.poll() is None]
        while len(alive) < count:
            alive.append(subprocess.Popen(
                [sys.executable, "-m", "gis_service.job_queue", "--parent", str(os.getpid())], start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env={**os.environ, "GIS_SERVICE_DATABASE_URL": database_url}))


def get_job(conn: Connection, job_id: int, *, lease_s: float = JobLimits.lease_s) -> dict | None:
    _reap(conn, lease_s)
    row = conn.execute(text(f"SELECT {COLUMNS} FROM job WHERE id = :i"), {"i": job_id}).mappings().first()
    return dict(row) if row else None


def list_jobs(conn: Connection, *, limit: int = 50, offset: int = 0, kinds: tuple[str, ...] | None = None,
              lease_s: float = JobLimits.lease_s) -> list[dict]:
    """The jobs, newest first (of ``kinds`` only, when given)."""
    _reap(conn, lease_s)
    where = "WHERE kind = ANY(:kinds)" if kinds is not None else ""
    return [dict(r) for r in conn.execute(
        text(f"SELECT {COLUMNS} FROM job {where} ORDER BY id DESC LIMIT :n OFFSET :o"),
        {"n": limit, "o": offset, "kinds": list(kinds or ())}).mappings()]


def count_jobs(conn: Connection, *, kinds: tuple[str, ...]) -> int:
    return conn.execute(text("SELECT count(*) FROM job WHERE kind = ANY(:kinds)"), {"kinds": list(kinds)}).scalar()


def refuse_unless_owner(conn: Connection, job_id: int, user: User) -> None:
    """Only a job's owner or an admin may cancel or delete it. Raises ``JobRefused``: reason
    ``unknown`` when there is no such job, ``forbidden`` when it is somebody else's."""
    who = conn.execute(text("SELECT user_name FROM job WHERE id = :i"), {"i": job_id}).scalar()
    if who is None:
        raise JobRefused(f"no job {job_id}; GET /api/jobs lists them", field="job_id", reason="unknown")
    if who != user.name and not user.may("admin"):
        raise JobRefused(f"job {job_id} is {who}'s; only its owner or an admin may cancel or delete it",
                         field="job_id", reason="forbidden")


def delete(engine: Engine, job_id: int) -> bool:
    """Forget a job that has ended (the run it stored stays, reachable by its id); False: no such
    job. An active job is refused (ValueError): cancel it first."""
    with engine.begin() as conn:
        status = conn.execute(text("SELECT status FROM job WHERE id = :i FOR UPDATE"), {"i": job_id}).scalar()
        if status is None:
            return False
        if status in ACTIVE:
            raise ValueError(f"job {job_id} is {status}; cancel it before deleting it")
        conn.execute(text("DELETE FROM job WHERE id = :i"), {"i": job_id})
    return True


def cancel(engine: Engine, job_id: int, *, lease_s: float = JobLimits.lease_s) -> dict | None:
    """Cancel a queued job at once, or stop a running one: the request is committed first, so the
    worker sees it, then the worker (on this host) is sent SIGTERM. A job that ended already is
    refused (ValueError)."""
    with engine.begin() as conn:
        row = conn.execute(text(
            "UPDATE job SET cancel_requested = status IN ('queued', 'running'), "
            "status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, "
            "finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END "
            "WHERE id = :i RETURNING status, host, pid, cancel_requested"), {"i": job_id}).first()
    if row is None:
        return None
    if not row.cancel_requested:
        raise ValueError(f"job {job_id} has ended ({row.status}); there is nothing to cancel")
    if row.status == "running" and row.pid and row.host == HOST:
        try:
            os.kill(row.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass  # ended meanwhile; _reap marks it
    with engine.begin() as conn:
        return get_job(conn, job_id, lease_s=lease_s)


def _reap(conn: Connection, lease_s: float) -> None:
    """Mark running jobs whose worker is gone as failed; done on reads, so that a client polling a
    job learns it. A worker on this host is looked up by its pid; on any host, a worker that
    renewed no lease for ``lease_s`` (heartbeat) counts as gone."""
    for job_id, pid in conn.execute(text("SELECT id, pid FROM job WHERE status = 'running' AND host = :h"),
                                    {"h": HOST}).all():
        if pid is None or not _alive(pid):
            conn.execute(text("UPDATE job SET status = 'failed', finished_at = now(), error = "
                              "'the worker process ended without finishing the job; submit it again' "
                              "WHERE id = :i AND status = 'running' AND pid = :p"), {"i": job_id, "p": pid})
    conn.execute(text(
        "UPDATE job SET status = 'failed', finished_at = now(), error = 'its worker gave no sign of life for ' "
        "|| :s || ' s (the job lease, GIS_SERVICE_JOB_LEASE_S); submit it again' "
        "WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => :s)"), {"s": float(lease_s)})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a worker that ended but was not waited for is a zombie: gone for our purpose
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _claim(engine: Engine, limits: JobLimits) -> dict | None:
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLAIM_LOCK})
        _reap(conn, limits.lease_s)
        running = conn.execute(text("SELECT count(*) FROM job WHERE status = 'running'")).scalar()
        if running >= limits.running:
            return None
        row = conn.execute(text(
            "UPDATE job SET status = 'running', started_at = now(), heartbeat_at = now(), host = :h, pid = :p, "
            "step = 'starting' WHERE id = (SELECT id FROM job WHERE status = 'queued' ORDER BY id LIMIT 1) "
            "RETURNING id, kind, scenario_id, scenario, options, ogc"),
            {"h": HOST, "p": os.getpid()}).mappings().first()
        return dict(row) if row else None


def _execute(engine: Engine, job: dict) -> dict:
    """Run one claimed job; returns its result. Between steps a cancel is checked for too."""
    steps = STEPS[job["kind"]]

    def progress(name: str) -> None:
        if _cancel_requested(engine, job["id"]):
            raise JobCancelled()
        done = steps.index(name) / len(steps) if name in steps else None
        with engine.begin() as conn:
            conn.execute(text("UPDATE job SET step = :s, progress = COALESCE(:p, progress) WHERE id = :i"),
                         {"s": name, "p": done, "i": job["id"]})

    scenario = _scenario_name(engine, job)
    if job["kind"] == "coverage":
        from gis_service.analysis.coverage import CoverageOptions, run_coverage

        o = CoverageJobOptions.model_validate(job["options"])
        options = CoverageOptions(scenario=scenario, method=o.method, distance_m=o.distance_m,
                                  capacity=o.capacity, demand=o.demand, nearest_k=o.nearest_k)
        if o.thresholds:
            options.thresholds_min = o.thresholds
        result = run_coverage(engine, options, progress=progress)
        return {"run_id": result.run_id, "summary": result.summary, "seconds": result.seconds}
    from gis_service.analysis.scaleup.plan import ScaleupOptions, run_scaleup

    o = ScaleupJobOptions.model_validate(job["options"])
    plan = run_scaleup(engine, ScaleupOptions(scenario=scenario, region=o.region, model=o.model,
                                              calibration=o.calibration, time_limit=o.time_limit), progress=progress)
    return {"run_id": plan.run_id, "headline": plan.summary["headline"], "seconds": plan.seconds}


def _scenario_name(engine: Engine, job: dict) -> str | None:
    """The scenario's name now (it may have been renamed since the job was submitted)."""
    if job["scenario_id"] is None:
        if job["scenario"] is not None:
            raise ValueError(f"scenario '{job['scenario']}' was deleted after the job was submitted")
        return None
    with engine.connect() as conn:
        return conn.execute(text("SELECT name FROM scenario WHERE id = :i"), {"i": job["scenario_id"]}).scalar_one()


def _finish(engine: Engine, job_id: int, status: str, *, result: dict | None = None, error: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE job SET status = :s, result = CAST(:r AS jsonb), error = :e, finished_at = now(), pid = NULL, "
            "progress = CASE WHEN :s = 'succeeded' THEN 1 ELSE progress END "
            "WHERE id = :i AND status = 'running' AND host = :h AND pid = :p"),
            {"s": status, "r": json.dumps(result, default=float) if result is not None else None,
             "e": error, "i": job_id, "h": HOST, "p": os.getpid()})


def work(engine: Engine, limits: JobLimits, *, idle_seconds: float = 0.0, parent: int | None = None,
         poll_seconds: float = 0.25, callback_hosts: tuple[str, ...] = ()) -> int:
    """Claim and run queued jobs; when none is queued, wait up to ``idle_seconds`` for one (0:
    return at once), and stop waiting as soon as the ``parent`` process is gone. Returns how many
    ran. SIGTERM interrupts only a running analysis, once (it is disarmed as soon as it fires or
    the analysis returns); a cancel committed before the worker looks is seen at the start and
    between the analysis's steps. While a job runs, a thread renews its lease."""
    armed = False

    def stop(signum, frame):
        nonlocal armed
        if armed:
            armed = False
            raise JobCancelled()

    signal.signal(signal.SIGTERM, stop)
    ran, idle_since = 0, time.monotonic()
    while True:
        job = _claim(engine, limits)
        if job is None:
            orphaned = parent is not None and os.getppid() != parent
            if orphaned or time.monotonic() - idle_since >= idle_seconds:
                return ran
            time.sleep(poll_seconds)
            continue
        ran += 1
        callbacks = Callbacks(job.get("ogc"), callback_hosts)
        callbacks.send("inProgressUri", {})
        heartbeat = Heartbeat(engine, job["id"], limits.lease_s / 4)
        heartbeat.start()
        result, status, error = None, None, None
        try:
            armed = True
            if _cancel_requested(engine, job["id"]):
                raise JobCancelled()
            result = _execute(engine, job)
            armed = False
            status = "succeeded"
        except JobCancelled:
            armed = False
        except (ValueError, KeyError) as exc:  # bad scenario, region or parameters: the user's to fix
            armed = False
            status, error = "failed", str(exc).strip("'\"")
        except Exception:  # noqa: BLE001 - any other failure is reported on the job, not lost
            armed = False
            log.exception("job %s failed", job["id"])  # the details (SQL included) stay in the server log
            status, error = "failed", "internal error; the server log has the details"
        finally:
            heartbeat.stop()
        if status is None:
            if _cancel_requested(engine, job["id"]):
                status, error = "cancelled", "cancelled on request"
            else:  # a SIGTERM meant for the job before, which ended meanwhile
                _requeue(engine, job["id"])
        if status is not None:
            _finish(engine, job["id"], status, result=result, error=error)
            if status == "succeeded":
                callbacks.send("successUri", ogc_outputs(result, callbacks.response))
            else:
                callbacks.send("failedUri", {"status": status, "message": error})
        idle_since = time.monotonic()


class Heartbeat(threading.Thread):
    """Renews a running job's lease (``heartbeat_at``) every ``every`` seconds until stopped."""

    def __init__(self, engine: Engine, job_id: int, every: float):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.engine, self.job_id, self.every, self._done = engine, job_id, every, threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            try:
                with self.engine.begin() as conn:
                    conn.execute(text("UPDATE job SET heartbeat_at = now() WHERE id = :i AND status = 'running' "
                                      "AND pid = :p"), {"i": self.job_id, "p": os.getpid()})
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease has room for three
                log.warning("job %s: could not renew its lease", self.job_id, exc_info=True)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)


class Callbacks:
    """The subscriber URIs of a job started over OGC API – Processes. Each is POSTed once, to a
    host on the allow-list only (checked again here: the list may have changed since the request),
    without following redirects (which could lead anywhere) and with a 10 s timeout; a failed
    callback is logged, never the job's failure."""

    def __init__(self, ogc: dict | None, allowed_hosts: tuple[str, ...]):
        self.subscriber = (ogc or {}).get("subscriber") or {}
        self.response = (ogc or {}).get("response", "raw")
        self.allowed = {h.lower() for h in allowed_hosts}

    def send(self, which: str, body: dict) -> None:
        uri = self.subscriber.get(which)
        if not uri:
            return
        if (urlsplit(uri).hostname or "").lower() not in self.allowed:
            log.warning("callback %s %s: host not on GIS_SERVICE_CALLBACK_HOSTS; not sent", which, uri)
            return
        import requests

        try:
            requests.post(uri, data=json.dumps(body, default=float), timeout=10, allow_redirects=False,
                          headers={"Content-Type": "application/json"})
        except requests.RequestException as exc:
            log.warning("callback %s %s failed: %s", which, uri, exc)


def _requeue(engine: Engine, job_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE job SET status = 'queued', started_at = NULL, heartbeat_at = NULL, host = NULL, pid = NULL, step = NULL, "
                          "progress = 0 WHERE id = :i AND status = 'running' AND pid = :p"),
                     {"i": job_id, "p": os.getpid()})


def _cancel_requested(engine: Engine, job_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT cancel_requested FROM job WHERE id = :i"), {"i": job_id}).scalar())


def main(argv: list[str] | None = None) -> None:
    import argparse

    from sqlalchemy.exc import OperationalError

    from gis_service.analysis import coverage  # noqa: F401 - imported once, before the first job
    from gis_service.analysis.scaleup import plan  # noqa: F401
    from gis_service.db.engine import make_engine
    from gis_service.settings import get_settings

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")  # to the server's log
    parser = argparse.ArgumentParser(description="Run the planning API's queued jobs")
    parser.add_argument("--parent", type=int, help="Stop waiting for jobs once this process is gone")
    args = parser.parse_args(argv)
    settings = get_settings()
    engine = make_engine()
    try:
        work(engine, JobLimits.of(settings), idle_seconds=60 * settings.job_worker_idle_minutes, parent=args.parent,
             callback_hosts=tuple(settings.callback_hosts))
    except OperationalError:
        pass  # the database went away (stopped, or a test's database dropped): nothing left to do
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
