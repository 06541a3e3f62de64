"""Coverage and scale-up runs as background jobs: ``POST /api/jobs`` queues one (editors) and
answers 202 at once; ``GET /api/jobs/{id}`` shows its step, progress and, when done, the run it
stored; ``POST /api/jobs/{id}/cancel`` stops it. The work happens in a worker process
(``gis_service.jobs``), so a job goes on when the client disconnects."""

# no ``from __future__ import annotations``: FastAPI reads the route annotations
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, text

from gis_service import jobs
from gis_service.api.auth import requires
from gis_service.api.planning import errors
from gis_service.db.engine import database_url
from gis_service.db.users import User
from gis_service.settings import Settings


class CoverageJob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["coverage"]
    scenario: str | None = Field(None, description="Scenario name; none: existing and pilot facilities")
    options: jobs.CoverageJobOptions = jobs.CoverageJobOptions()


class ScaleupJob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["scaleup"]
    scenario: str = Field(description="Scenario name")
    options: jobs.ScaleupJobOptions = jobs.ScaleupJobOptions()


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


def router(settings: Settings, engine: Engine) -> APIRouter:
    api = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=errors(400, 401, 403, 413))
    reader = requires("viewer", engine, public=settings.public_read)
    editor = requires("editor", engine)

    def found(job: dict | None, job_id: int) -> dict:
        if job is None:
            raise HTTPException(404, {"message": f"no job {job_id}; GET /api/jobs lists them", "field": "job_id"})
        return job

    @api.post("", response_model=Job, status_code=202, responses=errors(404, 422))
    def submit(body: Annotated[CoverageJob | ScaleupJob, Field(discriminator="kind")],
               user: Annotated[User, Depends(editor)], response: Response):
        """Queue a coverage or scale-up run of a scenario; poll the job (Location) for its progress."""
        with engine.begin() as conn:
            scenario_id = None
            if body.scenario is not None:
                scenario_id = conn.execute(text("SELECT id FROM scenario WHERE name = :n"), {"n": body.scenario}).scalar()
                if scenario_id is None:
                    raise HTTPException(404, {"message": f"no scenario named '{body.scenario}'; GET /api/scenarios "
                                                         "lists them", "field": "scenario"})
            region = getattr(body.options, "region", None)
            unknown = [c for c in (region or "").split(",") if c.strip() and conn.execute(
                text("SELECT 1 FROM admin_area WHERE code = :c"), {"c": c.strip()}).first() is None]
            if unknown:
                raise HTTPException(422, {"message": f"unknown region code {', '.join(unknown)}; use loaded "
                                                     "Kemendagri codes", "field": "options.region"})
            job_id = jobs.submit(conn, body.kind, scenario_id, body.scenario, body.options, user=user.name)
        jobs.ensure_workers(settings.max_jobs, database_url(settings))
        response.headers["Location"] = f"/api/jobs/{job_id}"
        with engine.begin() as conn:
            return jobs.get_job(conn, job_id)

    @api.get("", response_model=list[Job], responses=errors(422))
    def job_list(user: Annotated[User, Depends(reader)], limit: Annotated[int, Query(ge=1, le=500)] = 50):
        """The latest jobs, newest first."""
        with engine.begin() as conn:
            return jobs.list_jobs(conn, limit=limit)

    @api.get("/{job_id}", response_model=Job, responses=errors(404, 422))
    def job(job_id: int, user: Annotated[User, Depends(reader)]):
        with engine.begin() as conn:
            return found(jobs.get_job(conn, job_id), job_id)

    @api.post("/{job_id}/cancel", response_model=Job, responses=errors(404, 409, 422))
    def cancel(job_id: int, user: Annotated[User, Depends(editor)]):
        """Cancel a queued job, or stop a running one (its run is rolled back, nothing is stored);
        a job that has ended is 409."""
        try:
            return found(jobs.cancel(engine, job_id), job_id)
        except ValueError as exc:
            raise HTTPException(409, {"message": str(exc), "field": "job_id"}) from exc

    return api
