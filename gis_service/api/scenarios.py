"""Scenarios over HTTP: read by anyone allowed to read, created, changed and deleted by editors;
a facility placed on the map joins a scenario with ``PUT /api/scenarios/{id}/facilities/{fid}``.
The rules live in ``gis_service.ingest.scenario_edits``."""

# no ``from __future__ import annotations``: FastAPI reads the route annotations
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel
from sqlalchemy import Engine

from gis_service.api.auth import requires
from gis_service.api.planning import errors, in_transaction
from gis_service.db.users import User
from gis_service.ingest import scenario_edits as se
from gis_service.settings import Settings


class Scenario(BaseModel):
    id: int
    name: str
    description: str | None
    region_code: str | None
    facility_ids: list[int]
    parameters: dict[str, Any]
    plan: dict
    created_at: datetime


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

    @api.post("", response_model=Scenario, status_code=201, responses=errors(404, 409, 422))
    def create(body: se.NewScenario, user: Annotated[User, Depends(editor)], response: Response):
        """A scenario: its facilities (ids, or all of some statuses), parameter overrides and plan."""
        row = in_transaction(engine, se.create_scenario, body, user=user.name, region_code=region,
                             config_dir=settings.config_dir)
        response.headers["Location"] = f"/api/scenarios/{row['id']}"
        return row

    @api.patch("/{scenario_id}", response_model=Scenario, responses=errors(404, 409, 422))
    def change(scenario_id: int, body: se.ScenarioFields, user: Annotated[User, Depends(editor)]):
        """Change the given fields; ``facility_ids`` and ``parameters`` replace the whole list/set."""
        return in_transaction(engine, se.update_scenario, scenario_id, body, user=user.name,
                              config_dir=settings.config_dir)

    @api.delete("/{scenario_id}", status_code=204, responses=errors(404, 422))
    def delete(scenario_id: int, user: Annotated[User, Depends(editor)]) -> Response:
        in_transaction(engine, se.delete_scenario, scenario_id)
        return Response(status_code=204)

    @api.put("/{scenario_id}/facilities/{facility_id}", response_model=Scenario, responses=errors(404, 422))
    def include(scenario_id: int, facility_id: int, user: Annotated[User, Depends(editor)]):
        """Let a facility take part in the scenario."""
        return in_transaction(engine, se.include_facility, scenario_id, facility_id, included=True)

    @api.delete("/{scenario_id}/facilities/{facility_id}", response_model=Scenario, responses=errors(404, 422))
    def exclude(scenario_id: int, facility_id: int, user: Annotated[User, Depends(editor)]):
        """Take a facility out of the scenario (the facility stays)."""
        return in_transaction(engine, se.include_facility, scenario_id, facility_id, included=False)

    return api
