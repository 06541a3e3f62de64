"""Coverage and scale-up runs as background jobs: ``POST /api/jobs`` queues one (editors) and
answers 202 at once; ``GET /api/jobs/{id}`` shows its step, progress and, when done, the run it
stored; ``POST /api/jobs/{id}/cancel`` stops it. The work happens in a worker process
(``gis_service.job_queue``), so a job goes on when the client disconnects."""

# no ``from __future__ import annotations``: FastAPI reads the route annotations
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from gis_service import job_queue
from gis_service.api.auth import requires
from gis_service.api.facilities import errors
from gis_service.db.users import User
from gis_service.settings import Settings


class CoverageJob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["coverage"]
    scenario: str | None = Field(None, description="Scenario name; none: existing and pilot facilities")
    options: job_queue.CoverageJobOptions = job_queue.CoverageJobOptions()


class ScaleupJob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["scaleup"]
    scenario: str = Field(description="Scenario name")
    options: job_queue.ScaleupJobOptions = job_queue.ScaleupJobOptions()


class Job(BaseModel):
    id: int
    kind: str
    scenario_id: int | None
    scenario: str | None
    options: dict
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    step: str | None
    progress: float
    result: dict | None
    error: str | None
    user_name: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    ogc: dict | None = Field(None, description="Started through OGC API – Processes: response kind, subscriber")


def router(settings: Settings, engine: Engine, *, worker_url: str) -> APIRouter:
    """The job routes; ``worker_url`` is the connection the job workers get (the owner role)."""
    api = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=errors(400, 401, 403, 413))
    reader = requires("viewer", engine, public=settings.public_read)
    editor = requires("editor", engine)
    limits = job_queue.JobLimits.of(settings)

    def found(job: dict | None, job_id: int) -> dict:
        if job is None:
            raise HTTPException(404, {"message": f"no job {job_id}; GET /api/jobs lists them", "field": "job_id"})
        return job

    @api.post("", response_model=Job, status_code=202, responses=errors(404, 422, 429))
    def submit(body: Annotated[CoverageJob | ScaleupJob, Field(discriminator="kind")],
               user: Annotated[User, Depends(editor)], response: Response):
        """Queue a coverage or scale-up run of a scenario; poll the job (Location) for its progress.
        A user may have ``max_jobs_per_user`` jobs queued or running, and ``max_queued_jobs`` wait
        in all: more are 429."""
        try:
            with engine.begin() as conn:
                job_id = job_queue.submit(conn, body.kind, body.scenario, body.options, user=user.name, limits=limits)
        except job_queue.JobRefused as refused:
            status = {"unknown": 404, "invalid": 422, "limit": 429}[refused.reason]
            field = {"scenario": "scenario", "region": "options.region"}.get(refused.field or "")
            raise HTTPException(status, {"message": str(refused), "field": field}) from refused
        job_queue.ensure_workers(settings.max_jobs, worker_url)
        response.headers["Location"] = f"/api/jobs/{job_id}"
        with engine.begin() as conn:
            return job_queue.get_job(conn, job_id, lease_s=limits.lease_s)

    @api.get("", response_model=list[Job], responses=errors(422))
    def job_list(user: Annotated[User, Depends(reader)], limit: Annotated[int, Query(ge=1, le=500)] = 50):
        """The latest jobs, newest first (those started over OGC API – Processes too)."""
        with engine.begin() as conn:
            return job_queue.list_jobs(conn, limit=limit, lease_s=limits.lease_s)

    @api.get("/{job_id}", response_model=Job, responses=errors(404, 422))
    def job(job_id: int, user: Annotated[User, Depends(reader)]):
        with engine.begin() as conn:
            return found(job_queue.get_job(conn, job_id, lease_s=limits.lease_s), job_id)

    def owned(job_id: int, user: User) -> None:
        """Only the job's owner or an admin may cancel or delete it (403)."""
        try:
            with engine.connect() as conn:
                job_queue.refuse_unless_owner(conn, job_id, user)
        except job_queue.JobRefused as refused:
            status = 404 if refused.reason == "unknown" else 403
            raise HTTPException(status, {"message": str(refused), "field": "job_id"}) from refused

    @api.post("/{job_id}/cancel", response_model=Job, responses=errors(404, 409, 422))
    def cancel(job_id: int, user: Annotated[User, Depends(editor)]):
        """Cancel a queued job, or stop a running one (its run is rolled back, nothing is stored);
        a job that has ended is 409. Its owner or an admin only."""
        owned(job_id, user)
        try:
            return found(job_queue.cancel(engine, job_id, lease_s=limits.lease_s), job_id)
        except ValueError as exc:
            raise HTTPException(409, {"message": str(exc), "field": "job_id"}) from exc

    @api.delete("/{job_id}", status_code=204, responses=errors(404, 409, 422))
    def delete(job_id: int, user: Annotated[User, Depends(editor)]):
        """Forget a job that has ended (the run it stored stays: GET /api/runs/{id}/summary or /api/plans/{id}); an active job
        is 409 (cancel it first). Its owner or an admin only."""
        owned(job_id, user)
        try:
            found(job_queue.delete(engine, job_id) or None, job_id)
        except ValueError as exc:
            raise HTTPException(409, {"message": str(exc), "field": "job_id"}) from exc
        return Response(status_code=204)

    return api
