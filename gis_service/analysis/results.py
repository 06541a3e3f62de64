"""Stored runs read back as the numbers a meeting looks at: the regency and district
totals, the village rows (households, served, ladder now and projected, percentages) and the
regency's gaps to the targets. Used by the planning API (JSON and CSV) and the web map."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from gis_service.analysis.ladder import LAYAK
from gis_service.analysis.rounding import half_up

RUN_COLUMNS = "r.id, r.scenario_name, r.method, r.started_at, r.illustrative, r.published_at, r.published_by"
AREA_SQL = """
    SELECT c.area_code AS code, a.name, c.level, a.parent_code, c.service, c.households, c.people,
           c.served_households, c.served_people, c.ladder, c.ladder_projected
    FROM coverage_area c LEFT JOIN admin_area a ON a.code = c.area_code
    WHERE c.run_id = :r AND c.level = ANY(:levels) ORDER BY c.level, c.area_code, c.service"""


def _pct(part: float, whole: float) -> float | None:
    """A share in percent, to three decimals: the precision the gaps to the targets are stored with
    (``ladder.share``), so that a share shown in two tables is the same number, rounded once."""
    return round(100.0 * part / whole, 3) if whole else None


def _areas(conn: Connection, run_id: int, levels: list[str]) -> list[dict]:
    """One dict per area: the 'all' row's counts and ladders, served households per service."""
    rows = conn.execute(text(AREA_SQL), {"r": run_id, "levels": levels}).mappings().all()
    areas: dict[str, dict] = {}
    for r in rows:
        area = areas.setdefault(r["code"], {"code": r["code"], "name": r["name"], "level": r["level"],
                                            "parent_code": r["parent_code"], "served_by_service": {}})
        if r["service"] != "all":
            area["served_by_service"][r["service"]] = r["served_households"]
            continue
        ladder, projected = r["ladder"] or {}, r["ladder_projected"] or {}
        hh = r["households"]
        area |= {"households": hh, "people": r["people"], "served_households": r["served_households"],
                 "served_people": r["served_people"], "coverage_pct": _pct(r["served_households"], hh),
                 "aman_pct_now": _pct(ladder.get("aman", 0), hh),
                 "aman_pct_projected": _pct(projected.get("aman", 0), hh),
                 "layak_pct_now": _pct(sum(ladder.get(k, 0) for k in LAYAK), hh),
                 "layak_pct_projected": _pct(sum(projected.get(k, 0) for k in LAYAK), hh),
                 "ladder": ladder, "ladder_projected": projected}
    return [a for a in areas.values() if "households" in a]


def run_row(conn: Connection, run_id: int) -> dict | None:
    row = conn.execute(text(f"SELECT {RUN_COLUMNS} FROM coverage_run r WHERE r.id = :r"), {"r": run_id}).mappings().first()
    return dict(row) if row else None


def list_runs(conn: Connection, *, limit: int = 100) -> list[dict]:
    """Coverage runs, newest first, with their regency headline and how many facilities they used."""
    runs = [dict(r) for r in conn.execute(text(
        f"SELECT {RUN_COLUMNS}, c.households, c.served_households, c.ladder, c.ladder_projected, "
        "(SELECT count(*) FROM coverage_facility f WHERE f.run_id = r.id) AS facilities "
        "FROM coverage_run r LEFT JOIN coverage_area c ON c.run_id = r.id AND c.level = 'regency' "
        "AND c.service = 'all' ORDER BY r.id DESC LIMIT :n"), {"n": limit}).mappings()]
    for run in runs:
        hh, ladder, projected = run["households"] or 0, run.pop("ladder") or {}, run.pop("ladder_projected") or {}
        run |= {"coverage_pct": _pct(run["served_households"] or 0, hh),
                "aman_pct_now": _pct(ladder.get("aman", 0), hh), "aman_pct_projected": _pct(projected.get("aman", 0), hh)}
    return runs


def list_plans(conn: Connection, *, limit: int = 100) -> list[dict]:
    """Scale-up runs, newest first, with their headline."""
    return [dict(r) for r in conn.execute(text(
        "SELECT id, scenario_name, region_code, started_at, illustrative, published_at, published_by, "
        "summary -> 'headline' AS headline "
        "FROM scaleup_run ORDER BY id DESC LIMIT :n"), {"n": limit}).mappings()]


def run_summary(conn: Connection, run_id: int) -> dict | None:
    """The run, its regency totals, its districts and the regency's gaps to the targets; None for
    an unknown run."""
    run = run_row(conn, run_id)
    if run is None:
        return None
    areas = _areas(conn, run_id, ["regency", "district"])
    regencies = [a for a in areas if a["level"] == "regency"]
    regency = max(regencies, key=lambda a: a["households"]) if regencies else None
    gaps = [dict(g) for g in conn.execute(text(
        "SELECT indicator, year, target_pct, current_pct, projected_pct, gap_households, gap_people "
        "FROM coverage_gap WHERE run_id = :r AND area_code = :a ORDER BY year, indicator"),
        {"r": run_id, "a": regency["code"] if regency else ""}).mappings()]
    return {"run": run, "regency": regency, "districts": [a for a in areas if a["level"] == "district"],
            "gaps": gaps}


def village_rows(conn: Connection, run_id: int) -> list[dict]:
    """Every village of the run with its district code."""
    return [{**{k: v for k, v in a.items() if k != "parent_code"}, "district_code": a["parent_code"]}
            for a in _areas(conn, run_id, ["village"])]


RUNG_WORDS = {"id": {"aman": "aman", "layak_sendiri": "layak sendiri", "layak_bersama": "layak bersama",
                     "belum_layak": "belum layak", "babs": "BABS", "unknown": "tidak diketahui"},
              "en": {"aman": "safely managed", "layak_sendiri": "basic (own)", "layak_bersama": "limited (shared)",
                     "belum_layak": "unimproved", "babs": "open defecation", "unknown": "unknown"}}
SERVICE_WORDS = {"id": {"lltt": "LLTT", "offsite": "IPAL", "mck": "MCK"},
                 "en": {"lltt": "scheduled desludging", "offsite": "sewer/IPAL", "mck": "public toilet"}}
HEADERS = {
    "id": {"code": "Kode desa", "name": "Desa", "district_code": "Kode kecamatan", "households": "Rumah tangga",
           "people": "Jiwa", "served_households": "RT terlayani", "served_people": "Jiwa terlayani",
           "coverage_pct": "Terlayani (%)", "aman_pct_now": "Aman sekarang (%)",
           "aman_pct_projected": "Aman proyeksi (%)", "layak_pct_now": "Layak termasuk aman sekarang (%)",
           "layak_pct_projected": "Layak termasuk aman proyeksi (%)", "served": "RT terlayani {}",
           "now": "RT {} sekarang", "projected": "RT {} proyeksi"},
    "en": {"code": "Village code", "name": "Village", "district_code": "District code", "households": "Households",
           "people": "People", "served_households": "Households served", "served_people": "People served",
           "coverage_pct": "Served (%)", "aman_pct_now": "Safely managed now (%)",
           "aman_pct_projected": "Safely managed projected (%)", "layak_pct_now": "Basic or better now (%)",
           "layak_pct_projected": "Basic or better projected (%)", "served": "Households served: {}",
           "now": "Households {} now", "projected": "Households {} projected"},
}


def village_csv(rows: list[dict], *, lang: str | None = None) -> str:
    """The village rows flattened for a spreadsheet: ladder rungs and services as columns. With
    ``lang``, headers in that language and shares rounded half up to one decimal; ``id`` also
    writes ';' between columns and decimal commas, as Indonesian Excel reads them (both with a
    byte-order mark, so Excel reads UTF-8)."""
    flat = []
    for row in rows:
        out = {k: v for k, v in row.items() if k not in ("ladder", "ladder_projected", "served_by_service", "level")}
        out |= {f"served_{k}_households": v for k, v in row["served_by_service"].items()}
        out |= {f"{k}_now": v for k, v in row["ladder"].items()}
        out |= {f"{k}_projected": v for k, v in row["ladder_projected"].items()}
        flat.append(out)
    table = pd.DataFrame(flat)
    if lang is None:
        return table.to_csv(index=False)
    words = HEADERS[lang]
    for column in [c for c in table.columns if c.endswith("_pct") or "_pct_" in c]:
        table[column] = table[column].map(half_up)
    names = {}
    for column in table.columns:
        if column in words:
            names[column] = words[column]
        elif column.startswith("served_") and column.endswith("_households"):
            service = column[len("served_"):-len("_households")]
            names[column] = words["served"].format(SERVICE_WORDS[lang].get(service, service))
        elif column.endswith(("_now", "_projected")):
            rung, when = column.rsplit("_", 1)
            names[column] = words[when].format(RUNG_WORDS[lang].get(rung, rung))
    table = table.rename(columns=names)
    return "\ufeff" + table.to_csv(index=False, sep=";" if lang == "id" else ",", decimal="," if lang == "id" else ".")
