"""The trial's scorecard from its operation log (``pilot_event``): the indicators of
docs/pilot-evaluation.md over a period, each judged good / watch / poor against the thresholds of
``config/pilot_evaluation.yml`` with a recommendation (Bahasa Indonesia and English) where it is
not good, overall and by month, village or truck.

"Done" means rows with status ``done``. A blank ``delivered_m3`` counts as 0 delivered (not
received, or not recorded: either way the IPLT has no record of it). Results do not depend on the
order of the rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import Connection, text

INDICATORS = ("events_total", "emptyings_done", "cancelled_share", "truck_days", "emptyings_per_truck_day",
              "pumped_m3", "m3_per_emptying", "delivered_share", "mean_trip_minutes", "revenue_idr",
              "collection_rate", "complaints_per_100", "median_resolve_days", "households_served")
DEFINITIONS = {
    "events_total": "all rows (attempts)",
    "emptyings_done": "rows with status done",
    "cancelled_share": "rows not done / events_total",
    "truck_days": "distinct (truck, date) among done rows",
    "emptyings_per_truck_day": "emptyings_done / truck_days",
    "pumped_m3": "sum of pumped_m3 over done rows",
    "m3_per_emptying": "pumped_m3 / emptyings_done",
    "delivered_share": "sum of delivered_m3 over done rows (blank = 0) / pumped_m3",
    "mean_trip_minutes": "mean of trip_minutes over done rows where given",
    "revenue_idr": "sum of fee_paid_idr over done rows",
    "collection_rate": "sum of fee_paid_idr / sum of fee_billed_idr, over done rows",
    "complaints_per_100": "100 x complaints among done rows / emptyings_done",
    "median_resolve_days": "median of resolved_days over complaints",
    "households_served": "distinct household_id among done rows",
}
BY = {"month": "month", "village": "village_code", "truck": "truck"}
EVENT_SQL = """
    SELECT e.source_id AS event_id, e.event_date, e.status, e.household_id, e.village_code, e.truck, e.pumped_m3,
           e.delivered_m3, e.trip_minutes, e.fee_billed_idr, e.fee_paid_idr, e.complaint, e.resolved_days
    FROM pilot_event e WHERE e.pilot_id = :p AND e.event_date BETWEEN :a AND :b"""


def _ratio(part: float, whole: float) -> float | None:
    return float(part) / float(whole) if whole else None


def indicators(events: pd.DataFrame) -> dict[str, float | int | None]:
    """The indicators of one set of rows (see DEFINITIONS); None where the input is missing."""
    done = events[events["status"] == "done"]
    n_done = len(done)
    pumped = float(done["pumped_m3"].astype(float).sum())
    truck_days = len(done.dropna(subset=["truck"])[["truck", "event_date"]].drop_duplicates())
    billed = done["fee_billed_idr"].dropna().astype(float)
    paid = done["fee_paid_idr"].dropna().astype(float)
    complaints = done[done["complaint"] == True]  # noqa: E712 (a nullable column)
    trips = done["trip_minutes"].dropna().astype(float)
    resolve = complaints["resolved_days"].dropna().astype(float)
    return {
        "events_total": len(events),
        "emptyings_done": n_done,
        "cancelled_share": _ratio(len(events) - n_done, len(events)),
        "truck_days": truck_days,
        "emptyings_per_truck_day": _ratio(n_done, truck_days),
        "pumped_m3": pumped,
        "m3_per_emptying": _ratio(pumped, n_done),
        "delivered_share": _ratio(done["delivered_m3"].astype(float).fillna(0.0).sum(), pumped),
        "mean_trip_minutes": float(trips.mean()) if len(trips) else None,
        "revenue_idr": float(paid.sum()),
        "collection_rate": _ratio(paid.sum(), billed.sum()) if len(billed) else None,
        "complaints_per_100": 100.0 * len(complaints) / n_done if n_done else None,
        "median_resolve_days": float(resolve.median()) if len(resolve) else None,
        "households_served": int(done["household_id"].dropna().nunique()),
    }


def judge(indicator: str, value, rule: dict) -> str:
    """good, watch or poor against the rule's thresholds; "info" for a count without thresholds;
    "no data" without a value."""
    if "better" not in rule:
        return "info"
    if value is None:
        return "no data"
    good, poor = float(rule["good"]), float(rule["poor"])
    if rule["better"] == "higher":
        return "good" if value >= good else "poor" if value < poor else "watch"
    return "good" if value <= good else "poor" if value > poor else "watch"


def load_rules(config_dir: Path) -> dict:
    with open(config_dir / "pilot_evaluation.yml", encoding="utf-8") as fh:
        rules = yaml.safe_load(fh)["indicators"]
    missing = [i for i in INDICATORS if i not in rules]
    if missing:
        raise ValueError(f"config/pilot_evaluation.yml has no rule for {', '.join(missing)}; add them "
                         "(aspect, measure, and for a judged indicator better, good, poor, source, recommendation)")
    return rules


CHECKLIST_STATUS = ("none", "draft", "adopted")


def load_checklist(config_dir: Path) -> dict:
    """The institutional and policy checklist (``config/pilot_checklist.yml``) and how complete it
    is: the share of the items the roll-out needs that are adopted."""
    with open(config_dir / "pilot_checklist.yml", encoding="utf-8") as fh:
        items = yaml.safe_load(fh)["items"]
    for item in items:
        if item.get("status") not in CHECKLIST_STATUS:
            raise ValueError(f"config/pilot_checklist.yml, item {item.get('id')}: status {item.get('status')!r} "
                             f"is not one of {', '.join(CHECKLIST_STATUS)}")
    needed = [item for item in items if item.get("needed_for_rollout")]
    adopted = [item for item in needed if item["status"] == "adopted"]
    return {"items": items, "needed": len(needed), "adopted": len(adopted),
            "complete_share": _ratio(len(adopted), len(needed))}


def _pilot(conn: Connection, name: str | None) -> dict:
    pilots = [dict(r) for r in conn.execute(text(
        "SELECT p.id, p.name, p.start_date, p.end_date, count(e.id) AS events FROM pilot p "
        "LEFT JOIN pilot_event e ON e.pilot_id = p.id GROUP BY p.id ORDER BY p.name")).mappings()]
    if name is not None:
        found = [p for p in pilots if p["name"] == name]
        if not found:
            raise ValueError(f"unknown pilot '{name}'; known: {', '.join(p['name'] for p in pilots) or 'none'}")
        return found[0]
    logged = [p for p in pilots if p["events"]]
    if len(logged) != 1:
        raise ValueError("no pilot has an operation log; import one with gis-service import pilot_events FILE"
                         if not logged else f"several pilots have a log ({', '.join(p['name'] for p in logged)}): "
                                            "name one with --pilot")
    return logged[0]


def evaluate(conn: Connection, *, config_dir: Path, pilot: str | None = None, start: date | None = None,
             end: date | None = None, by: str | None = None) -> dict:
    """The scorecard of a pilot (the only one with a log, unless named) over [start, end] (default:
    the pilot's period, else its log's days)."""
    if by is not None and by not in BY:
        raise ValueError(f"--by takes {', '.join(BY)} (got '{by}')")
    rules = load_rules(config_dir)
    p = _pilot(conn, pilot)
    span = conn.execute(text("SELECT min(event_date), max(event_date) FROM pilot_event WHERE pilot_id = :p"),
                        {"p": p["id"]}).one()
    start = start or p["start_date"] or span[0]
    end = end or p["end_date"] or span[1]
    if start is None or end is None:
        raise ValueError(f"pilot '{p['name']}' has no operation log; import one with gis-service import pilot_events FILE")
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    events = pd.read_sql(text(EVENT_SQL), conn, params={"p": p["id"], "a": start, "b": end})
    values = indicators(events)
    scorecard = [{"id": i, "value": values[i], "status": judge(i, values[i], rules[i]),
                  "aspect": rules[i]["aspect"], "measure": rules[i]["measure"], "definition": DEFINITIONS[i],
                  "better": rules[i].get("better"), "good": rules[i].get("good"), "poor": rules[i].get("poor"),
                  "source": rules[i].get("source"),
                  "recommendation": rules[i].get("recommendation") if judge(i, values[i], rules[i]) in
                  ("watch", "poor") else None} for i in INDICATORS]
    groups = []
    if by is not None:
        events["month"] = pd.to_datetime(events["event_date"]).dt.strftime("%Y-%m")
        for key, part in events.groupby(BY[by], sort=True, dropna=False):
            row = indicators(part)
            groups.append({by: None if pd.isna(key) else key, "indicators": row,
                           "status": {i: judge(i, row[i], rules[i]) for i in INDICATORS}})
    checklist = load_checklist(config_dir)
    return {"pilot": p["name"], "period": [start.isoformat(), end.isoformat()], "indicators": values,
            "status": {row["id"]: row["status"] for row in scorecard}, "scorecard": scorecard, "by": groups,
            "checklist": checklist["items"], "checklist_complete": checklist["complete_share"],
            "illustrative_thresholds": any("ILLUSTRATIVE" in (r.get("source") or "") for r in rules.values())}
