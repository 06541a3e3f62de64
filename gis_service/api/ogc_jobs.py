"""OGC API – Processes on the job table: pygeoapi's process manager replaced by one that queues an
execution as a row of ``job``, like ``POST /api/jobs``, so that there is one job system.

- **Inputs** are checked by the process's pydantic model (the same options model as
  ``/api/jobs``) before anything is queued: a bad input is 400, naming the input.
- **Limits**: the same per-user and global caps (``job_queue.submit``; over them, 429), the same
  workers and the same ``max_jobs`` running at once.
- **Who**: the caller's API key (checked by ``security.Guard`` before pygeoapi sees the request)
  is carried to the manager in a context variable, so the job is recorded as the user's.
- **Sync and async**: ``Prefer: respond-async`` answers 201 at once with the job's Location; any
  other execution waits for the job's end and answers its outputs. A client that goes away
  leaves its job running.
- **Jobs** under ``/ogc/jobs`` are the coverage rows of the job table (those started through
  ``/api/jobs`` too), their ids the table's ids. ``DELETE /ogc/jobs/{id}`` dismisses a job:
  cancels it while it is queued or running, forgets it once it has ended (its run stays).
  The Guard lets only the job's owner or an admin do so.

pygeoapi's ``delete_job`` answers without a Content-Type, which its Starlette adapter cannot turn
into a response (a 500 after the job was deleted); ``install`` wraps it to add the header."""

from __future__ import annotations

import contextvars
import time
from datetime import datetime, timezone

from pydantic import ValidationError
from pygeoapi.process.base import JobNotFoundError, JobResultNotFoundError, ProcessorExecuteError
from pygeoapi.process.manager.base import BaseManager
from pygeoapi.util import DATETIME_FORMAT, JobStatus, RequestedProcessExecutionMode
from sqlalchemy import create_engine

from gis_service import job_queue
from gis_service.db.users import User, authenticate

CALLER: contextvars.ContextVar[str | None] = contextvars.ContextVar("gis_service_ogc_caller", default=None)
STATUS = {"queued": JobStatus.accepted, "running": JobStatus.running, "succeeded": JobStatus.successful,
          "failed": JobStatus.failed, "cancelled": JobStatus.dismissed}
_installed = False


class InputError(ProcessorExecuteError):
    ogc_exception_code = "InvalidParameterValue"
    http_status_code = 400


class LimitError(ProcessorExecuteError):
    ogc_exception_code = "TooManyJobs"
    http_status_code = 429


class CallerError(ProcessorExecuteError):
    ogc_exception_code = "NotAuthorized"
    http_status_code = 401


def manager_config(database_url: str, worker_url: str, limits: job_queue.JobLimits, *, callback_hosts: list[str]) -> dict:
    """The ``server.manager`` section of pygeoapi's configuration: the job table through
    ``database_url`` (the web role), workers started with ``worker_url`` (the owner role)."""
    return {"name": f"{__name__}.JobTableManager", "connection": database_url, "workers": worker_url,
            "output_dir": None,
            "limits": {"running": limits.running, "per_user": limits.per_user, "queued": limits.queued,
                       "lease_s": limits.lease_s},
            "callback_hosts": list(callback_hosts)}


class JobTableManager(BaseManager):
    """pygeoapi's process manager over the job table; see the module's docstring."""

    def __init__(self, manager_def: dict):
        super().__init__(manager_def)
        self.is_async = True
        self.supports_subscribing = True
        self.database_url, self.worker_url = manager_def["connection"], manager_def["workers"]
        self.limits = job_queue.JobLimits(**manager_def.get("limits", {}))
        self.engine = create_engine(self.database_url, pool_size=5, max_overflow=5, pool_pre_ping=True)

    # --- pygeoapi's manager interface -------------------------------------------------------
    def execute_process(self, process_id, data_dict, execution_mode=None, requested_outputs=None,
                        subscriber=None, requested_response="raw"):
        processor = self.get_processor(process_id)
        user = self._caller()
        try:
            inputs = processor.inputs_model.model_validate(data_dict if data_dict is not None else {})
        except ValidationError as exc:
            raise InputError(user_msg=_validation_message(exc, processor.inputs_model)) from exc
        except (TypeError, ValueError) as exc:
            raise InputError(user_msg=f"inputs must be an object of named inputs: {exc}") from exc
        options = inputs.model_dump(exclude={"scenario"})
        ogc = {"response": requested_response if requested_response in ("raw", "document") else "raw"}
        if subscriber is not None:
            ogc["subscriber"] = {k: v for k, v in {"successUri": subscriber.success_uri,
                                                     "inProgressUri": subscriber.in_progress_uri,
                                                     "failedUri": subscriber.failed_uri}.items() if v}
        try:
            with self.engine.begin() as conn:
                job_id = job_queue.submit(conn, processor.kind, inputs.scenario,
                                     processor.options_model.model_validate(options), user=user.name,
                                     limits=self.limits, ogc=ogc)
        except job_queue.JobRefused as refused:
            if refused.reason == "limit":
                raise LimitError(user_msg=str(refused)) from refused
            raise InputError(user_msg=f"input {refused.field}: {refused}") from refused
        job_queue.ensure_workers(self.limits.running, self.worker_url)
        if execution_mode == RequestedProcessExecutionMode.respond_async:
            return str(job_id), "application/json", None, JobStatus.accepted, {
                "Preference-Applied": RequestedProcessExecutionMode.respond_async.value}
        headers = {"Preference-Applied": RequestedProcessExecutionMode.wait.value} if execution_mode else None
        job = self._wait(job_id)
        if job["status"] == "succeeded":
            return str(job_id), "application/json", job_queue.ogc_outputs(job["result"], ogc["response"]), \
                JobStatus.successful, headers
        outputs = {"type": "InvalidParameterValue" if job["status"] == "failed" else "JobDismissed",
                   "code": "InvalidParameterValue" if job["status"] == "failed" else "JobDismissed",
                   "description": f"job {job_id} {job['status']}: {job['error']}"}
        return str(job_id), "application/json", outputs, JobStatus.failed, headers

    def get_jobs(self, status=None, limit=None, offset=None) -> dict:
        kinds = tuple(self.processes)
        with self.engine.begin() as conn:
            rows = job_queue.list_jobs(conn, limit=limit or 10, offset=offset or 0, kinds=kinds,
                                  lease_s=self.limits.lease_s)
            matched = job_queue.count_jobs(conn, kinds=kinds)
        return {"jobs": [self._as_ogc(r) for r in rows], "numberMatched": matched}

    def get_job(self, job_id) -> dict:
        return self._as_ogc(self._row(job_id))

    def get_job_result(self, job_id):
        row = self._row(job_id)
        if row["status"] != "succeeded" or row["result"] is None:
            raise JobResultNotFoundError()
        return "application/json", job_queue.ogc_outputs(row["result"], (row["ogc"] or {}).get("response", "raw"))

    def delete_job(self, job_id) -> bool:
        """Dismiss: cancel an active job, forget an ended one (its stored run stays)."""
        row = self._row(job_id)
        if row["status"] in job_queue.ACTIVE:
            job_queue.cancel(self.engine, row["id"], lease_s=self.limits.lease_s)
            return True
        return job_queue.delete(self.engine, row["id"])

    def add_job(self, job_metadata: dict) -> str:
        raise NotImplementedError("jobs are added by execute_process, through gis_service.job_queue.submit")

    def update_job(self, job_id, update_dict: dict) -> bool:
        raise NotImplementedError("jobs are updated by their worker (gis_service.job_queue)")

    # --- helpers ------------------------------------------------------------------------------
    def _caller(self) -> User:
        key = CALLER.get()
        with self.engine.connect() as conn:
            user = authenticate(conn, key) if key else None
        if user is None or not user.may("editor"):
            raise CallerError(user_msg="starting a process needs an editor's API key")
        return user

    def _row(self, job_id) -> dict:
        if not str(job_id).isdigit() or len(str(job_id)) > 18:
            raise JobNotFoundError()
        with self.engine.begin() as conn:
            row = job_queue.get_job(conn, int(job_id), lease_s=self.limits.lease_s)
        if row is None or row["kind"] not in self.processes:
            raise JobNotFoundError()
        return row

    def _wait(self, job_id: int) -> dict:
        """Poll the job until it ends (a tenth of a second at first, then up to half a second)."""
        pause = 0.1
        while True:
            with self.engine.begin() as conn:
                row = job_queue.get_job(conn, job_id, lease_s=self.limits.lease_s)
            if row["status"] not in job_queue.ACTIVE:
                return row
            time.sleep(pause)
            pause = min(0.5, pause * 1.5)

    @staticmethod
    def _as_ogc(row: dict) -> dict:
        status = STATUS[row["status"]]
        message = row["error"] or {"queued": "queued, waiting for a worker", "succeeded": "finished"}.get(
            row["status"], row["step"] or row["status"])
        return {"type": "process", "identifier": str(row["id"]), "process_id": row["kind"],
                "status": status.value, "message": message, "progress": round(100 * (row["progress"] or 0)),
                "parameters": {**({"scenario": row["scenario"]} if row["scenario"] else {}), **row["options"]},
                "created": _stamp(row["created_at"]), "started": _stamp(row["started_at"] or row["created_at"]),
                "finished": _stamp(row["finished_at"]),
                "updated": _stamp(row["finished_at"] or row["started_at"] or row["created_at"]),
                "mimetype": "application/json", "location": None, "user": row["user_name"]}


def _stamp(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).strftime(DATETIME_FORMAT) if value else None


def _validation_message(exc: ValidationError, model) -> str:
    """pydantic's errors as 'input NAME: what is wrong', one per error."""
    lines = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "inputs"
        if error["type"] == "extra_forbidden":
            lines.append(f"input {where}: unknown input; this process takes "
                         + ", ".join(sorted(model.model_fields)))
        else:
            lines.append(f"input {where}: {error['msg']}")
    return "; ".join(lines)


def install() -> None:
    """Wrap pygeoapi's execute and delete handlers (once): the first to carry the caller's key to
    the manager, the second to give its answer a Content-Type."""
    global _installed
    if _installed:
        return
    import pygeoapi.api.processes as processes_api

    execute, delete = processes_api.execute_process, processes_api.delete_job

    def execute_process(api, request, *args, **kwargs):
        token = CALLER.set(_key(request.headers))
        try:
            return execute(api, request, *args, **kwargs)
        finally:
            CALLER.reset(token)

    def delete_job(api, request, *args, **kwargs):
        headers, status, content = delete(api, request, *args, **kwargs)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
        return headers, status, content

    processes_api.execute_process, processes_api.delete_job = execute_process, delete_job
    _installed = True


def _key(headers) -> str | None:
    header = headers.get("authorization") or headers.get("Authorization") or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return headers.get("x-api-key") or headers.get("X-API-Key")
