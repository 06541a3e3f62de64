"""A plan's roll-out, built once and kept with its run: the calendar's summary (bases, plants,
years), the year table and the action matrix in both languages go into ``scaleup_run.summary``
under ``rollout``, so the report, the API and ``scaleup actions`` read them without building the
calendar again."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, text

from gis_service.analysis import network as net
from gis_service.analysis.rollout.actions import action_matrix, read_actions
from gis_service.analysis.rollout.calendar import CalendarResult, build_calendar
from gis_service.analysis.rollout.years import rollout_years
from gis_service.analysis.scaleup.store import json_safe, to_json


@dataclass
class Rollout:
    calendar: CalendarResult
    years: pd.DataFrame
    actions: dict[str, pd.DataFrame]  # by language


def build_rollout(conn: Connection, run_id: int, *, metric: str, network_params: net.NetworkParams, config_dir,
                  start: str | None = None, years: int = 5) -> Rollout:
    cal = build_calendar(conn, run_id, metric=metric, network_params=network_params, config_dir=config_dir,
                         start=start, years=years)
    table = rollout_years(conn, cal, cal.params)
    spec = read_actions(config_dir)
    return Rollout(cal, table, {lang: action_matrix(table, spec, lang=lang) for lang in ("id", "en")})


def as_record(r: Rollout) -> dict:
    cal = r.calendar
    return json_safe({"start": cal.start.isoformat(), "years": cal.years, "emptyings": len(cal.emptyings),
                      "bases": cal.bases.to_dict(orient="records"), "plants": cal.plants.to_dict(orient="records"),
                      "calendar_years": _dated(cal.per_year), "year_table": _dated(r.years),
                      "actions": {lang: frame.to_dict(orient="records") for lang, frame in r.actions.items()},
                      "notes": cal.notes})


def save_rollout(conn: Connection, r: Rollout) -> None:
    """Keep the roll-out with its run (replacing an earlier one)."""
    conn.execute(text("UPDATE scaleup_run SET summary = jsonb_set(summary, '{rollout}', CAST(:r AS jsonb)) "
                      "WHERE id = :i"), {"r": to_json(as_record(r)), "i": r.calendar.run_id})


ACTION_COLUMNS = ["agency", "agency_name", "action", "year", "calendar_year", "budget_line", "budget_idr", "indicator"]


def action_table(rollout: dict, lang: str) -> pd.DataFrame:
    """A stored roll-out's action matrix in one language, one row per action and year, in the
    order of config/actions.yml (JSON keeps whole rupiah as floats: back to integers)."""
    table = pd.DataFrame(rollout["actions"][lang], columns=["order", *ACTION_COLUMNS])
    table = table.sort_values(["order", "year"])[ACTION_COLUMNS]
    table["budget_idr"] = table["budget_idr"].astype("Int64")
    return table


def stored_rollout(conn: Connection, run_id: int) -> dict | None:
    return conn.execute(text("SELECT summary -> 'rollout' FROM scaleup_run WHERE id = :i"), {"i": run_id}).scalar()


def _dated(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    for col in out.columns:
        if out[col].map(lambda v: hasattr(v, "isoformat")).any():
            out[col] = out[col].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    return out.to_dict(orient="records")
