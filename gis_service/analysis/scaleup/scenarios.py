"""A scenario's stored scale-up plan, read back as a ``Plan`` (``planning.scenarios`` writes
scenarios, from the API and from YAML)."""

from __future__ import annotations

import json
from gis_service.analysis.scaleup.spec import Plan


def scenario_plan(raw: dict | None) -> Plan:
    """The stored plan of a scenario (a scenario without one plans with the defaults: calibrate
    from the pilot, no new facilities)."""
    return Plan.model_validate(raw or {})


def dump(plan: Plan) -> dict:
    return json.loads(plan.model_dump_json())
