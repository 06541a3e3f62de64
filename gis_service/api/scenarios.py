"""Scenarios over HTTP: read by anyone allowed to read, created, changed and deleted by editors
(a change or delete sends the version it read, as facilities do); a facility placed on the map
joins a scenario with ``PUT /api/scenarios/{id}/facilities/{fid}``. Every edit is logged and
undoable under ``/api/scenario-edits``. The rules live in ``gis_service.planning.scenarios``."""

# no ``from __future__ import annotations``: FastAPI reads the route annotations
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel
from sqlalchemy import Engine

from gis_service.api.auth import requires
from gis_service.api.facilities import errors, in_transaction, read_version
from gis_service.db.users import User
from gis_service.planning import scenarios as se
from gis_service.settings import Settings


class Scenario(BaseModel):
    id: int
    name: str
    description: str | None
    region_code: str | None
    facility_ids: list[int]
    parameters: dict[str, Any]
    plan: dict
    version: int
    created_at: datetime


class ScenarioChange(se.ScenarioFields):
    """The fields to change and the version they were read at."""

    version: int | None = None


class ScenarioEdit(BaseModel):
    id: int
    scenario_id: int
    user_name: str
    at: datetime
    action: str
    before: dict | None
    after: dict | None
    undoes: int | None
    undone_by: int | None


def router(settings: Settings, engine: Engine) -> APIRouter:
    api = APIRouter(prefix="/api/scenarios", tags=["scenarios"], responses=errors(400, 401, 403, 413))
    reader = requires("viewer", engine, public=settings.public_read)
    editor = requires("editor", engine)
    region = settings.region_config().code

    @api.get("", response_model=list[Scenario])
    def scenarios(user: Annotated[User, Depends(reader)]):
        return in_transaction(engine, se.list_scenarios)

    @api.get("/{scenario_id}", response_model=Scenario, responses=errors(404, 422))
    def scenario(scenario_id: int, user: Annotated[User, Depends(reader)]):
        return in_transaction(engine, se.get_scenario, scenario_id)

    @api.post("", response_model=Scenario, status_code=201, responses=errors(409, 422))
    def create(body: se.NewScenario, user: Annotated[User, Depends(editor)], response: Response):
        """A scenario: its facilities (ids, or all of some statuses), parameter overrides and plan."""
        row = in_transaction(engine, se.create_scenario, body, user=user.name, region_code=region,
                             config_dir=settings.config_dir)
        response.headers["Location"] = f"/api/scenarios/{row['id']}"
        return row

    @api.patch("/{scenario_id}", response_model=Scenario, responses=errors(404, 409, 422, 428))
    def change(scenario_id: int, body: ScenarioChange, user: Annotated[User, Depends(editor)],
               if_match: Annotated[str | None, Header()] = None):
        """Change the given fields of a scenario read at ``version`` (or ``If-Match``);
        ``facility_ids`` and ``parameters`` replace the whole list / set of overrides."""
        version = read_version(body.version, if_match)
        fields = se.ScenarioFields.model_validate(body.model_dump(exclude_unset=True, exclude={"version"}))
        return in_transaction(engine, se.update_scenario, scenario_id, fields, version=version, user=user.name,
                              config_dir=settings.config_dir)

    @api.delete("/{scenario_id}", status_code=204, responses=errors(404, 409, 422, 428))
    def delete(scenario_id: int, user: Annotated[User, Depends(editor)],
               version: Annotated[int | None, Query()] = None,
               if_match: Annotated[str | None, Header()] = None) -> Response:
        in_transaction(engine, se.delete_scenario, scenario_id, version=read_version(version, if_match),
                       user=user.name)
        return Response(status_code=204)

    @api.put("/{scenario_id}/facilities/{facility_id}", response_model=Scenario, responses=errors(404, 422))
    def include(scenario_id: int, facility_id: int, user: Annotated[User, Depends(editor)]):
        """Let a facility take part in the scenario."""
        return in_transaction(engine, se.include_facility, scenario_id, facility_id, included=True, user=user.name)

    @api.delete("/{scenario_id}/facilities/{facility_id}", response_model=Scenario, responses=errors(404, 422))
    def exclude(scenario_id: int, facility_id: int, user: Annotated[User, Depends(editor)]):
        """Take a facility out of the scenario (the facility stays)."""
        return in_transaction(engine, se.include_facility, scenario_id, facility_id, included=False, user=user.name)

    return api


def edits_router(settings: Settings, engine: Engine) -> APIRouter:
    """The scenario edit log and its undo."""
    api = APIRouter(prefix="/api/scenario-edits", tags=["scenarios"], responses=errors(400, 401, 403, 413))
    reader = requires("viewer", engine, public=settings.public_read)
    editor = requires("editor", engine)

    @api.get("", response_model=list[ScenarioEdit], responses=errors(422))
    def edit_log(user: Annotated[User, Depends(reader)], scenario_id: int | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100):
        """The latest scenario edits, newest first."""
        return in_transaction(engine, se.list_edits, scenario_id=scenario_id, limit=limit)

    @api.post("/{edit_id}/undo", responses=errors(404, 409, 422))
    def undo(edit_id: int, user: Annotated[User, Depends(editor)]) -> dict:
        """Revert a scenario edit (the latest one of its scenario)."""
        return in_transaction(engine, se.undo, edit_id, user=user.name, config_dir=settings.config_dir)

    return api
