"""A scenario's scale-up plan as planners write it (``config/scenarios/*.yml``, stored in
``scenario.plan``): which pilot calibrates it, which target it plans for, and which facilities to
site, with their limits. Validated with pydantic so a typo names the field and the scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SITED_TYPES = ("iplt", "desludging_depot", "transfer_station", "ipal_komunal", "mck")
INDICATORS = ("aman_pct", "layak_pct")


class SitingStep(BaseModel):
    """Choose up to ``max_new`` facilities of one type (and/or within ``budget_idr``)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["iplt", "desludging_depot", "transfer_station", "ipal_komunal", "mck"]
    max_new: int | None = Field(None, ge=0)
    budget_idr: float | None = Field(None, ge=0)
    candidates: list[Literal["stored", "settlements", "grid", "nodes", "enlarge"]] = ["stored", "settlements"]
    candidate_file: Path | None = None  # user-given points (GeoPackage, GeoJSON, ...)
    exclude_file: Path | None = None  # areas no candidate may lie in (flood areas, protected forest)
    grid_m: float = Field(5000.0, gt=0)  # spacing of generated grid candidates
    nodes_near_settlement_m: float = Field(1000.0, gt=0)  # network nodes (e.g. river landings) this close
    capacity: float | None = Field(None, gt=0)  # per new facility, in capacity_unit; None: parameter
    capacity_unit: Literal["m3_per_day", "households", "trucks"] | None = None
    service_modes: list[Literal["road", "river", "path"]] = ["road"]
    min_distance_settlement_m: float | None = Field(None, ge=0)  # None: parameter for IPLTs, 0 otherwise
    model: Literal["exact", "greedy", "both"] = "both"

    @model_validator(mode="after")
    def _limited(self) -> SitingStep:
        if self.max_new is None and self.budget_idr is None:
            raise ValueError(f"siting of {self.type}: give max_new, budget_idr or both")
        if "enlarge" in self.candidates and self.type != "iplt":
            raise ValueError(f"siting of {self.type}: only an IPLT can be enlarged (candidates: [enlarge])")
        if (self.capacity is None) != (self.capacity_unit is None):
            raise ValueError(f"siting of {self.type}: give capacity and capacity_unit together")
        return self


class PlanTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    indicator: Literal["aman_pct", "layak_pct"] = "aman_pct"
    year: int | None = None  # None: the nearest target year from now in the target table


class Plan(BaseModel):
    """What a scale-up run of the scenario does."""

    model_config = ConfigDict(extra="forbid")
    calibration: Literal["pilot", "defaults"] = "pilot"
    pilot: str | None = None  # one pilot by name; None: every pilot serving the region
    target: PlanTarget = PlanTarget()
    start_year: int | None = None  # first plan year; None: the current year
    demand_cell_m: float = Field(500.0, gt=0)  # households are grouped into cells of this size
    siting: list[SitingStep] = []


class ScenarioSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str | None = None
    region: str | None = None  # Kemendagri code; None: the configured region
    facilities: list[Literal["existing", "pilot", "planned"]] = ["existing", "pilot"]
    plan: Plan = Plan()


def read_scenarios(path: Path) -> list[ScenarioSpec]:
    """The scenarios of a YAML file (``scenarios: [...]``), validated."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("scenarios"), list):
        raise ValueError(f"{path}: expected a mapping with a 'scenarios' list")
    out = []
    for i, item in enumerate(raw["scenarios"]):
        name = item.get("name", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
        try:
            out.append(ScenarioSpec.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'scenario'}: {e['msg']}"
                                 for e in exc.errors())
            raise ValueError(f"{path}: scenario '{name}': {problems}") from exc
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: scenario names repeat: {sorted({n for n in names if names.count(n) > 1})}")
    return out
