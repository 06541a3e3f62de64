"""The planning API under /api: facilities read by anyone (unless ``public_read`` is off) and
created, changed, deleted and undone by editors, with optimistic locking (send the version you
read, as ``version`` or ``If-Match``; a stale one is 409) and every edit logged. The routes are
thin: the rules live in ``gis_service.planning.facilities``."""

# no ``from __future__ import annotations``: FastAPI reads the route annotations, which name the
# dependencies made inside ``router``
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from gis_service.api.auth import requires
from gis_service.db.users import User
from gis_service.planning import facilities as edits, scenarios as scenario_edits
from gis_service.planning.edit_log import EditError
from gis_service.settings import Settings


class FacilityChange(edits.FacilityFields):
    """The fields to change and the version they were read at."""

    version: int | None = None


class Facility(BaseModel):
    id: int
    source: str
    source_id: str
    name: str
    type: str
    status: str
    capacity: float | None
    capacity_unit: str | None
    operator: str | None
    institution_type: str | None
    year: int | None
    capex_idr: float | None
    opex_idr_per_year: float | None
    service_modes: list[str] | None
    village_code: str | None
    version: int
    lon: float
    lat: float


class Edit(BaseModel):
    id: int
    facility_id: int
    user_name: str
    at: str
    action: str
    before: dict | None
    after: dict | None
    undoes: int | None
    undone_by: int | None


class Problem(BaseModel):
    """Every refusal: ``detail`` says why (and names the field: ``{"message", "field"}``, or
    FastAPI's list of validation errors with their ``loc``)."""

    detail: dict | list | str


def errors(*codes: int) -> dict:
    why = {400: "the body is not JSON", 401: "no key, or an unknown or revoked key", 403: "the key's role is too small",
           404: "not found (the message names what)", 409: "changed meanwhile (stale version), or cannot be undone",
           413: "request body too large", 422: "invalid input; the field is named",
           428: "the version read is missing (field version or If-Match)",
           429: "too many jobs queued or running (for this user, or in all); the message says which limit",
           500: "the server's configuration is not as it should be; the message says what to fix"}
    return {code: {"model": Problem, "description": why[code]} for code in codes}


def in_transaction(engine: Engine, fn, *args, **kwargs):
    """Call an edit function in one transaction; refused edits become HTTP errors."""
    try:
        with engine.begin() as conn:
            return fn(conn, *args, **kwargs)
    except EditError as exc:
        detail = {"message": str(exc), **({"field": exc.field} if exc.field else {})}
        raise HTTPException(exc.status, detail) from exc
    except IntegrityError as exc:  # a check passed, then a concurrent edit took the name or key
        if getattr(exc.orig, "sqlstate", None) != "23505":  # unique_violation
            raise
        raise HTTPException(409, {"message": "a concurrent edit took this name or key; reload and try again"}) from exc


def router(settings: Settings, engine: Engine) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["planning"], responses=errors(400, 401, 403, 413))
    reader = requires("viewer", engine, public=settings.public_read)
    editor = requires("editor", engine)
    region = settings.region_config().code

    def run(fn, *args, **kwargs):
        return in_transaction(engine, fn, *args, **kwargs)

    @api.get("/me")
    def me(user: Annotated[User, Depends(reader)]) -> dict:
        """Who the key belongs to and what it may do."""
        return {"name": user.name, "role": user.role}

    @api.get("/facilities", response_model=list[Facility], responses=errors(422))
    def facilities(user: Annotated[User, Depends(reader)],
                   type: Annotated[str | None, Query(description="e.g. iplt, desludging_depot")] = None,
                   status: Annotated[str | None, Query(description="existing, pilot, planned, candidate")] = None):
        return run(edits.list_facilities, type_=type, status=status)

    @api.get("/facilities/{facility_id}", response_model=Facility, responses=errors(404, 422))
    def facility(facility_id: int, user: Annotated[User, Depends(reader)], response: Response):
        row = run(edits.get_facility, facility_id)
        response.headers["ETag"] = f'"{row["version"]}"'
        return row

    @api.post("/facilities", response_model=Facility, status_code=201, responses=errors(404, 409, 422))
    def create(body: edits.NewFacility, user: Annotated[User, Depends(editor)], response: Response,
               scenario_id: Annotated[int | None, Query(description="Also let it take part in this scenario")] = None):
        """Place a facility (a candidate unless ``status`` says otherwise) inside the region, and
        with ``scenario_id`` add it to that scenario in the same transaction."""
        row = run(_create_in, body, user=user.name, region_code=region, scenario_id=scenario_id)
        response.headers["Location"] = f"/api/facilities/{row['id']}"
        response.headers["ETag"] = f'"{row["version"]}"'
        return row

    @api.patch("/facilities/{facility_id}", response_model=Facility, responses=errors(404, 409, 422, 428))
    def change(facility_id: int, body: FacilityChange, user: Annotated[User, Depends(editor)],
               response: Response, if_match: Annotated[str | None, Header()] = None):
        """Change the given fields of a facility read at ``version`` (or ``If-Match``)."""
        version = read_version(body.version, if_match)
        fields = edits.FacilityFields.model_validate(body.model_dump(exclude_unset=True, exclude={"version"}))
        row = run(edits.update_facility, facility_id, fields, version=version, user=user.name, region_code=region)
        response.headers["ETag"] = f'"{row["version"]}"'
        return row

    @api.delete("/facilities/{facility_id}", status_code=204, responses=errors(404, 409, 422, 428))
    def delete(facility_id: int, user: Annotated[User, Depends(editor)],
               version: Annotated[int | None, Query()] = None,
               if_match: Annotated[str | None, Header()] = None) -> Response:
        run(edits.delete_facility, facility_id, version=read_version(version, if_match), user=user.name)
        return Response(status_code=204)

    @api.get("/edits", response_model=list[Edit], responses=errors(422))
    def edit_log(user: Annotated[User, Depends(reader)], facility_id: int | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100):
        """The latest edits, newest first."""
        return [{**e, "at": e["at"].isoformat()} for e in run(edits.list_edits, facility_id=facility_id, limit=limit)]

    @api.post("/edits/{edit_id}/undo", responses=errors(404, 409, 422))
    def undo(edit_id: int, user: Annotated[User, Depends(editor)]) -> dict:
        """Revert an edit (the latest one of its facility)."""
        return run(edits.undo, edit_id, user=user.name)

    return api


def _create_in(conn, body: edits.NewFacility, *, user: str, region_code: str, scenario_id: int | None) -> dict:
    row = edits.create_facility(conn, body, user=user, region_code=region_code)
    if scenario_id is not None:
        scenario_edits.include_facility(conn, scenario_id, row["id"], included=True, user=user)
    return row


def read_version(given: int | None, if_match: str | None) -> int:
    if given is None and if_match:
        try:
            given = int(if_match.strip().strip('W/').strip('"'))
        except ValueError:
            given = None
    if given is None:
        raise HTTPException(428, {"message": "send the version you read (field 'version' or header If-Match), "
                                             "so that a change made meanwhile is not overwritten",
                                  "field": "version"})
    return given
