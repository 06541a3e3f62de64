"""Stored scale-up runs read back for people: the comparison table of several runs, and the HTML
report for the working-group meeting (Bahasa Indonesia by default, English on request) with the
plan map, the three aspects (technical, institutional, financing), the phase tables and every
assumption with its source. The report is one self-contained file (charts embedded as PNG)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection, text

from gis_service.analysis.rounding import number_text
from gis_service.analysis.scaleup import figures, phasing

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class StoredRun:
    id: int
    scenario: str
    region: str
    started_at: datetime
    summary: dict
    parameters: dict
    calibration: dict | None
    plan: dict
    illustrative: bool
    phases: pd.DataFrame
    requirements: pd.DataFrame
    facilities: gpd.GeoDataFrame  # metric CRS
    villages: gpd.GeoDataFrame  # metric CRS


def read_run(conn: Connection, run_id: int, *, metric_crs: str) -> StoredRun:
    row = conn.execute(text("SELECT id, scenario_name, region_code, started_at, summary, parameters, calibration, "
                            "plan, illustrative FROM scaleup_run WHERE id = :r"), {"r": run_id}).first()
    if row is None:
        known = conn.execute(text("SELECT id FROM scaleup_run ORDER BY id DESC LIMIT 10")).scalars().all()
        raise ValueError(f"no scale-up run {run_id}; latest runs: {', '.join(map(str, known)) or 'none'} "
                         "(gis-service scaleup run --scenario NAME makes one)")
    phases = pd.read_sql(text("SELECT * FROM scaleup_phase WHERE run_id = :r ORDER BY phase"), conn,
                         params={"r": run_id})
    req = pd.read_sql(text("SELECT r.*, a.name FROM scaleup_requirement r LEFT JOIN admin_area a "
                           "ON a.code = r.area_code WHERE run_id = :r ORDER BY level DESC, area_code, year, "
                           "indicator"), conn, params={"r": run_id})
    fac = gpd.read_postgis(text("SELECT * FROM scaleup_facility WHERE run_id = :r ORDER BY key"), conn,
                           params={"r": run_id}, geom_col="geom").to_crs(metric_crs)
    vil = gpd.read_postgis(text(
        "SELECT v.*, a.name, ST_SimplifyPreserveTopology(a.geom, 0.0005) AS geom FROM scaleup_village v "
        "JOIN admin_area a ON a.code = v.village_code WHERE v.run_id = :r ORDER BY v.rank"),
        conn, params={"r": run_id}, geom_col="geom").to_crs(metric_crs)
    return StoredRun(row.id, row.scenario_name, row.region_code, row.started_at, row.summary, row.parameters,
                     row.calibration, row.plan, row.illustrative, phases, req, fac, vil)


def compare_table(runs: list[StoredRun]) -> pd.DataFrame:
    """One row per run: what it builds, what it reaches, what it costs."""
    rows = []
    for r in runs:
        h, f = r.summary["headline"], r.summary["finance"]
        rows.append({"run": r.id, "scenario": r.scenario, "region": r.region,
                     "new_facilities": h["new_facilities"], "extra_trucks": h["extra_trucks"],
                     "coverage_now_pct": h["coverage_now_pct"], "coverage_plan_pct": h["coverage_plan_pct"],
                     "aman_now_pct": h["aman_now_pct"], "aman_plan_pct": h["aman_plan_pct"],
                     "capex_idr": h["capex_total_idr"], "opex_idr_per_year": h["opex_total_idr_per_year"],
                     "capex_per_person_newly_aman_idr": f.get("capex_per_person_newly_aman_idr"),
                     "flat_tariff_idr": h["flat_tariff_idr"],
                     "subsidy_gap_idr_per_year": h["subsidy_gap_idr_per_year"],
                     "villages_short_term": h["villages_short_term"], "villages_medium_term": h["villages_medium_term"],
                     "villages_later": h["villages_later"]})
    return pd.DataFrame(rows)


def _environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["n"] = lambda v, d=0: _number(v, d, lang)
    env.filters["groupby_action"] = _by_action
    return env


def _by_action(rows: list[dict]) -> list[tuple[tuple, dict]]:
    """The action matrix's rows: (order, agency, action) with the cell of each year it runs."""
    out: dict[tuple, dict] = {}
    for r in rows:
        out.setdefault((r["order"], r["agency_name"], r["action"]), {})[r["year"]] = r
    return sorted(out.items(), key=lambda item: item[0][0])


def write_trial_report(card: dict, path: Path, *, lang: str = "id") -> Path:
    """The trial's scorecard (``pilot_evaluation.evaluate``) alone, as the plan report shows it first."""
    if lang not in ("id", "en"):
        raise ValueError(f"report language '{lang}': use id (Bahasa Indonesia) or en")
    html = _environment(lang).get_template("trial_report.html.j2").render(
        lang=lang, card=card, generated=datetime.now().strftime("%Y-%m-%d %H:%M"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def write_report(runs: list[StoredRun], path: Path, *, lang: str = "id", trial: dict | None = None,
                 sfd: dict | None = None) -> Path:
    """The meeting report of ``runs[0]``; further runs are compared with it in one table and map.
    ``trial``, the pilot's scorecard, comes first ("Hasil uji coba") when the pilot has a log."""
    if lang not in ("id", "en"):
        raise ValueError(f"report language '{lang}': use id (Bahasa Indonesia) or en")
    main = runs[0]
    t = figures.TEXT[lang]
    images = {
        "plan_map": figures.plan_map(main.villages, main.facilities, lang=lang,
                                     title=f"{main.scenario} - {main.summary['region']['name']}"),
        "phases": figures.phase_chart(main.phases, lang=lang),
        "funding": figures.funding_chart(main.summary["finance"]["funding_idr"], lang=lang),
    }
    if len(runs) > 1:
        images["compare_map"] = figures.compare_map([(r.scenario, r.villages, r.facilities) for r in runs],
                                                    lang=lang)
    encoded = {k: base64.b64encode(figures.png(fig)).decode("ascii") for k, fig in images.items()}
    html = _environment(lang).get_template("report.html.j2").render(
        lang=lang, t=t, run=main, s=main.summary, images=encoded, notes=phasing.NOTES[lang], trial=trial,
        compare=compare_table(runs) if len(runs) > 1 else None,
        requirements=_requirement_rows(main), parameters=_parameter_rows(main.parameters),
        calibration=(main.calibration or {}).get("rows", []), villages=main.villages.head(20),
        ro=main.summary.get("rollout"), sfd=sfd,
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def _requirement_rows(run: StoredRun) -> pd.DataFrame:
    target = run.summary["target"]
    req = run.requirements
    plan_target = req[(req["indicator"] == target["indicator"]) & (req["year"] == target["year"])]
    return plan_target.sort_values(["level", "area_code"], ascending=[False, True])


def _parameter_rows(params: dict) -> list[dict]:
    return [{"name": k, "value": v.get("value"), "unit": v.get("unit", ""), "source": v.get("source", "")}
            for k, v in sorted(params.items()) if isinstance(v, dict) and "value" in v]


def _number(value, digits: int, lang: str) -> str:
    """Numbers as each language writes them, rounded half up: 1.234.567,5 (id) or 1,234,567.5 (en)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, (dict, list, str)):
        return str(value)
    return number_text(float(value), digits, lang=lang)
