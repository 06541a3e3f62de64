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

from gis_service.analysis.scaleup.calibration import weighted_mean

INDICATORS = ("events_total", "emptyings_done", "cancelled_share", "truck_days", "emptyings_per_truck_day",
              "pumped_m3", "m3_per_emptying", "delivered_share", "mean_trip_minutes", "revenue_idr",
              "collection_rate", "complaints_per_100", "median_resolve_days", "households_served")
# judged where their inputs exist: the pilot's IPLT (a facility of type iplt, status pilot, capacity
# in m3/day), its records' operating cost and stated willingness to pay (import pilots)
WHERE_GIVEN = ("iplt_utilisation", "cost_recovery", "fee_vs_wtp")
# against the trial's own plan (``targets`` in config/pilot_evaluation.yml): effectiveness and efficiency
AGAINST_TARGETS = ("households_vs_target", "emptyings_vs_target", "budget_use")
ALL = (*INDICATORS, *WHERE_GIVEN, *AGAINST_TARGETS)
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
    "iplt_utilisation": "m3 received per working day (days with a done row) / the pilot IPLT's design m3/day",
    "cost_recovery": "revenue_idr / operating cost of the pilot's records inside the period (opex_idr)",
    "fee_vs_wtp": "mean fee billed per done emptying / stated willingness to pay (wtp_idr of the records, "
                  "weighted by households served)",
    "households_vs_target": "households_served / the trial's planned households",
    "emptyings_vs_target": "emptyings_done per month of the period / the planned emptyings per month",
    "budget_use": "opex_idr + capex_idr of the records inside the period / the trial's budget for the period "
                  "(its budget x the period's share of the pilot's whole period)",
}
DEFINITIONS_ID = {
    "events_total": "semua baris (upaya penyedotan)",
    "emptyings_done": "baris berstatus selesai",
    "cancelled_share": "baris tidak selesai / events_total",
    "truck_days": "pasangan (truk, tanggal) berbeda di antara baris selesai",
    "emptyings_per_truck_day": "emptyings_done / truck_days",
    "pumped_m3": "jumlah volume disedot pada baris selesai",
    "m3_per_emptying": "pumped_m3 / emptyings_done",
    "delivered_share": "jumlah volume diterima IPLT pada baris selesai (kosong = 0) / pumped_m3",
    "mean_trip_minutes": "rata-rata waktu pulang-pergi pada baris selesai yang mencatatnya",
    "revenue_idr": "jumlah retribusi dibayar pada baris selesai",
    "collection_rate": "retribusi dibayar / retribusi ditagih, pada baris selesai",
    "complaints_per_100": "100 x keluhan pada baris selesai / emptyings_done",
    "median_resolve_days": "median hari penyelesaian keluhan",
    "households_served": "rumah tangga (id pelanggan) berbeda pada baris selesai",
    "iplt_utilisation": "m3 diterima per hari kerja / kapasitas desain IPLT uji coba (m3/hari)",
    "cost_recovery": "revenue_idr / biaya operasi catatan uji coba dalam periode (opex_idr)",
    "fee_vs_wtp": "rata-rata tarif per penyedotan / kesediaan membayar (wtp_idr catatan, berbobot rumah tangga)",
    "households_vs_target": "households_served / rumah tangga yang direncanakan",
    "emptyings_vs_target": "penyedotan per bulan / penyedotan per bulan yang direncanakan",
    "budget_use": "biaya operasi + investasi dalam periode / anggaran uji coba untuk periode itu",
}
BY = {"month": "month", "village": "village_code", "truck": "truck"}
EVENT_SQL = """
    SELECT e.source_id AS event_id, e.event_date, e.status, e.household_id, e.village_code, e.truck, e.pumped_m3,
           e.delivered_m3, e.trip_minutes, e.fee_billed_idr, e.fee_paid_idr, e.complaint, e.resolved_days
    FROM pilot_event e WHERE e.pilot_id = :p AND e.event_date BETWEEN :a AND :b"""


class NoLog(ValueError):
    """No log to judge: an unknown pilot, a pilot without a log, or several pilots and none named."""


class ConfigError(ValueError):
    """config/pilot_evaluation.yml or config/pilot_checklist.yml is not as the scorecard needs it."""


def _ratio(part: float, whole: float) -> float | None:
    return float(part) / float(whole) if whole else None


def _given(frame: pd.DataFrame, column: str) -> pd.Series:
    """The values of ``column`` where the log gives one (None and NaN are not given)."""
    values = frame[column]
    return values[values.notna()]


def indicators(events: pd.DataFrame) -> dict[str, float | int | None]:
    """The indicators of one set of rows (see DEFINITIONS). Where the log never records an input
    (no truck, no fee, no household id, no complaint answer), the indicator is None ("no data"),
    not a count of zero; ratios are taken over the rows that record both sides."""
    done = events[events["status"] == "done"]
    n_done = len(done)
    pumped = float(done["pumped_m3"].astype(float).sum())
    with_truck = done[done["truck"].notna()]
    truck_days = len(with_truck[["truck", "event_date"]].drop_duplicates())
    fees = done[done["fee_billed_idr"].notna()]
    paid = _given(done, "fee_paid_idr").astype(float)
    answered = done[done["complaint"].notna()]
    complaints = answered[answered["complaint"].astype(bool)]
    trips = _given(done, "trip_minutes").astype(float)
    resolve = _given(complaints, "resolved_days").astype(float)
    households = _given(done, "household_id")
    return {
        "events_total": len(events),
        "emptyings_done": n_done,
        "cancelled_share": _ratio(len(events) - n_done, len(events)),
        "truck_days": truck_days if len(with_truck) else None,
        "emptyings_per_truck_day": _ratio(len(with_truck), truck_days),  # rows with a truck only
        "pumped_m3": pumped,
        "m3_per_emptying": _ratio(pumped, n_done),
        "delivered_share": _ratio(done["delivered_m3"].astype(float).fillna(0.0).sum(), pumped),
        "mean_trip_minutes": float(trips.mean()) if len(trips) else None,
        "revenue_idr": float(paid.sum()) if len(paid) else None,
        "collection_rate": _ratio(fees["fee_paid_idr"].astype(float).fillna(0.0).sum(),
                                  fees["fee_billed_idr"].astype(float).sum()) if len(fees) else None,
        "complaints_per_100": 100.0 * len(complaints) / len(answered) if len(answered) else None,
        "median_resolve_days": float(resolve.median()) if len(resolve) else None,
        "households_served": int(households.nunique()) if len(households) else None,
    }


def _counted_records(conn: Connection, pilot_id: int, start: date, end: date) -> pd.DataFrame:
    """The pilot's records that lie wholly inside the period: the costs the period is judged by."""
    return pd.read_sql(text(
        "SELECT period_start, period_end, opex_idr, capex_idr, wtp_idr, households_served FROM pilot_record "
        "WHERE pilot_id = :p AND period_start >= :a AND period_end <= :b"), conn,
        params={"p": pilot_id, "a": start, "b": end})


def _inside(events: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """The rows whose day lies in one of the records' periods."""
    days = pd.to_datetime(events["event_date"])
    keep = pd.Series(False, index=events.index)
    for r in records.itertuples():
        keep |= (days >= pd.Timestamp(r.period_start)) & (days <= pd.Timestamp(r.period_end))
    return events[keep]


def inputs_elsewhere(conn: Connection, records: pd.DataFrame, events: pd.DataFrame) -> dict:
    """The indicators whose inputs are outside the log (``records``: ``_counted_records``): None
    where an input is missing. Revenue and cost are compared over the same days: those of the
    records wholly inside the period."""
    done = events[events["status"] == "done"]
    capacity = conn.execute(text(
        "SELECT sum(capacity) FROM facility WHERE type = 'iplt' AND status = 'pilot' "
        "AND capacity_unit = 'm3_per_day'")).scalar()
    days = done["event_date"].nunique()
    received = float(done["delivered_m3"].astype(float).fillna(0.0).sum())
    opex = pd.to_numeric(records["opex_idr"], errors="coerce").dropna()
    stated = weighted_mean(records, "wtp_idr", "households_served")
    billed = _given(done, "fee_billed_idr").astype(float)
    paid = _given(_inside(done, records[records["opex_idr"].notna()]), "fee_paid_idr").astype(float)
    return {
        "iplt_utilisation": received / days / float(capacity) if capacity and days else None,
        "cost_recovery": float(paid.sum()) / float(opex.sum()) if len(paid) and len(opex) and opex.sum() > 0 else None,
        "fee_vs_wtp": float(billed.mean()) / stated if len(billed) and stated else None,
    }


# ---- the log rolled up into periods, for calibration --------------------------------------------

LOGGED = ["households_served", "emptyings", "sludge_m3", "truck_trips", "mean_trip_minutes", "working_days",
          "trucks", "revenue_idr", "households_paying"]
"""The pilot_record columns the log gives. sludge_m3 is the volume pumped (what treatment must take);
truck_trips counts one trip per done or failed attempt (one household's tank per trip; a failed
attempt is a wasted trip, a cancelled one is called off before the truck leaves) [U];
mean_trip_minutes is kept to 0.01 minute and sludge_m3 to a litre, as records hold them."""


def rollup(events: pd.DataFrame) -> dict:
    """The ``LOGGED`` totals of a set of log rows; None for a column the rows never record."""
    done = events[events["status"] == "done"]
    trips = _given(done, "trip_minutes").astype(float)
    paid = _given(done, "fee_paid_idr").astype(float)
    households = _given(done, "household_id")
    payers = done[done["fee_paid_idr"].astype(float).fillna(0.0) > 0]
    trucks = _given(done, "truck")
    return {"households_served": int(households.nunique()) if len(households) else None,
            "emptyings": len(done), "sludge_m3": round(float(done["pumped_m3"].astype(float).sum()), 3),
            "truck_trips": len(done) + int((events["status"] == "failed").sum()),
            "mean_trip_minutes": round(float(trips.mean()), 2) if len(trips) else None,
            "working_days": int(done["event_date"].nunique()),
            "trucks": int(trucks.nunique()) if len(trucks) else None,
            "revenue_idr": float(paid.sum()) if len(paid) else None,
            "households_paying": int(payers["household_id"].dropna().nunique()) if len(paid) and len(households)
            else None}


def records_with_log(records: pd.DataFrame, events: pd.DataFrame, *, start: date | None,
                     end: date | None) -> pd.DataFrame:
    """A pilot's records with its log rolled in. A record whose period the log covers (its months
    lie between the first and the last logged month) takes the log's ``LOGGED`` totals over that
    period, where the log records them; its costs and willingness to pay stay as imported. A record
    the log covers only in part stays as imported, and its days are not counted again. The log's
    days outside every record become one record per calendar month, clipped to the pilot's period
    and to the days no record holds. The order of the log's rows changes nothing."""
    out = records.copy()
    dates = pd.to_datetime(events["event_date"])
    if len(dates):
        first, last = dates.min().to_period("M").start_time, dates.max().to_period("M").end_time
    held = pd.Series(False, index=events.index)
    for k, row in out.iterrows():
        a, b = pd.Timestamp(row["period_start"]), pd.Timestamp(row["period_end"])
        inside = (dates >= a) & (dates <= b)
        held |= inside
        if inside.any() and first <= a and b <= last:
            for column, value in rollup(events[inside]).items():
                if value is not None:
                    out.at[k, column] = value
    periods = [(pd.Timestamp(r["period_start"]), pd.Timestamp(r["period_end"])) for _, r in out.iterrows()]
    new = []
    for month, part in events[~held].groupby(dates[~held].dt.to_period("M"), sort=True):
        a, b = month.start_time.normalize(), month.end_time.normalize()
        a, b = max(a, pd.Timestamp(start)) if start else a, min(b, pd.Timestamp(end)) if end else b
        days = pd.to_datetime(part["event_date"])
        if any(pa <= b and a <= pb for pa, pb in periods):  # part of the month is a record's: its own days only
            a, b = days.min(), days.max()
        if a > b:
            continue
        new.append({"period_start": a.date(), "period_end": b.date(), **rollup(part)})
    if new:
        out = pd.concat([out, pd.DataFrame(new)], ignore_index=True)
    return out.sort_values("period_start", kind="stable").reset_index(drop=True)


def against_targets(pilot: dict, records: pd.DataFrame, start: date, end: date, values: dict,
                    target: dict | None) -> dict:
    """Effectiveness (result / target) and the budget's use, where the trial's plan is given."""
    out = dict.fromkeys(AGAINST_TARGETS)
    if not target:
        return out
    months = ((end - start).days + 1) / (365.25 / 12)
    if target.get("households") and values["households_served"] is not None:
        out["households_vs_target"] = values["households_served"] / float(target["households"])
    if target.get("emptyings_per_month"):
        out["emptyings_vs_target"] = values["emptyings_done"] / months / float(target["emptyings_per_month"])
    if target.get("budget_idr") and pilot["start_date"] and pilot["end_date"]:
        costs = records[records["opex_idr"].notna() | records["capex_idr"].notna()]
        if len(costs):  # the budget of the days those records cover
            spent = float(pd.to_numeric(costs["opex_idr"]).fillna(0).sum() + pd.to_numeric(costs["capex_idr"]).fillna(0).sum())
            covered = sum((r.period_end - r.period_start).days + 1 for r in costs.itertuples())
            whole = (pilot["end_date"] - pilot["start_date"]).days + 1
            out["budget_use"] = spent / (float(target["budget_idr"]) * covered / whole)
    return out


def judge(indicator: str, value, rule: dict) -> str:
    """good, watch or poor against the rule's thresholds (above a ``ceiling``, poor: an IPLT over
    its design load); "info" for a count without thresholds; "no data" without a value."""
    if "better" not in rule:
        return "info"
    if value is None:
        return "no data"
    if rule.get("ceiling") is not None and value > float(rule["ceiling"]):
        return "poor"
    good, poor = float(rule["good"]), float(rule["poor"])
    if rule["better"] == "higher":
        return "good" if value >= good else "poor" if value < poor else "watch"
    return "good" if value <= good else "poor" if value > poor else "watch"


def load_rules(config_dir: Path) -> dict:
    with open(config_dir / "pilot_evaluation.yml", encoding="utf-8") as fh:
        rules = yaml.safe_load(fh)["indicators"]
    missing = [i for i in ALL if i not in rules]
    if missing:
        raise ConfigError(f"config/pilot_evaluation.yml has no rule for {', '.join(missing)}; add them "
                          "(aspect, measure, and for a judged indicator better, good, poor, source, recommendation)")
    for name in ALL:
        rule = rules[name] or {}
        needed = ["aspect", "measure"] + (["good", "poor", "source", "recommendation"] if "better" in rule else [])
        lacking = [key for key in needed if key not in rule]
        if lacking or rule.get("better", "higher") not in ("higher", "lower") or (
                "recommendation" in rule and not {"id", "en"} <= set(rule["recommendation"] or {})):
            raise ConfigError(f"config/pilot_evaluation.yml, {name}: give aspect and measure, and for a judged "
                              "indicator better (higher or lower), good, poor, source and a recommendation in id "
                              f"and en{' (missing: ' + ', '.join(lacking) + ')' if lacking else ''}")
    return rules


def load_targets(config_dir: Path) -> dict:
    """The trial's plan per pilot name: households, emptyings_per_month, budget_idr, source."""
    with open(config_dir / "pilot_evaluation.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh).get("targets") or {}


CHECKLIST_STATUS = ("none", "draft", "adopted")


def load_checklist(config_dir: Path) -> dict:
    """The institutional and policy checklist (``config/pilot_checklist.yml``) and how complete it
    is: the share of the items the roll-out needs that are adopted."""
    with open(config_dir / "pilot_checklist.yml", encoding="utf-8") as fh:
        items = yaml.safe_load(fh)["items"]
    for item in items:
        if item.get("status") not in CHECKLIST_STATUS:
            raise ConfigError(f"config/pilot_checklist.yml, item {item.get('id')}: status {item.get('status')!r} "
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
            raise NoLog(f"unknown pilot '{name}'; known: {', '.join(p['name'] for p in pilots) or 'none'}")
        return found[0]
    logged = [p for p in pilots if p["events"]]
    if len(logged) != 1:
        raise NoLog("no pilot has an operation log; import one with gis-service import pilot_events FILE"
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
    if not p["events"]:
        raise NoLog(f"pilot '{p['name']}' has no operation log; import one with gis-service import pilot_events FILE")
    span = conn.execute(text("SELECT min(event_date), max(event_date) FROM pilot_event WHERE pilot_id = :p"),
                        {"p": p["id"]}).one()
    start = start or p["start_date"] or span[0]
    end = end or p["end_date"] or span[1]
    if start is None or end is None:
        raise ValueError(f"pilot '{p['name']}' has no operation log; import one with gis-service import pilot_events FILE")
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    events = pd.read_sql(text(EVENT_SQL), conn, params={"p": p["id"], "a": start, "b": end})
    records = _counted_records(conn, p["id"], start, end)  # read once: costs, willingness to pay
    values = indicators(events) | inputs_elsewhere(conn, records, events)
    target = load_targets(config_dir).get(p["name"])
    values |= against_targets(p, records, start, end, values, target)
    status = {i: judge(i, values[i], rules[i]) for i in ALL}
    scorecard = [{"id": i, "value": values[i], "status": status[i],
                  "aspect": rules[i]["aspect"], "measure": rules[i]["measure"], "definition": DEFINITIONS[i],
                  "definitions": {"id": DEFINITIONS_ID[i], "en": DEFINITIONS[i]},
                  "better": rules[i].get("better"), "good": rules[i].get("good"), "poor": rules[i].get("poor"),
                  "source": rules[i].get("source"),
                  "recommendation": rules[i].get("recommendation") if status[i] in ("watch", "poor") else None}
                 for i in ALL]
    groups = []
    if by is not None:
        events["month"] = pd.to_datetime(events["event_date"]).dt.strftime("%Y-%m")
        for key, part in events.groupby(BY[by], sort=True, dropna=False):
            row = indicators(part)
            groups.append({by: None if pd.isna(key) else key, "indicators": row,
                           "status": {i: judge(i, row[i], rules[i]) for i in INDICATORS}})
    checklist = load_checklist(config_dir)
    logged = [d.isoformat() if d else None for d in span]
    return {"target": target, "log_span": logged, "pilot": p["name"], "period": [start.isoformat(), end.isoformat()], "indicators": values,
            "status": status, "scorecard": scorecard, "by": groups,
            "checklist": checklist["items"], "checklist_complete": checklist["complete_share"],
            "illustrative_thresholds": any("ILLUSTRATIVE" in (r.get("source") or "") for r in rules.values())}


def trial_card(conn: Connection, *, config_dir: Path, calibration: dict | None = None) -> dict | None:
    """The scorecard a plan report shows first: of the pilot that calibrated the plan (when it has a
    log), else of the only pilot with a log; None when no pilot has one."""
    logged = conn.execute(text(
        "SELECT p.name FROM pilot p WHERE EXISTS (SELECT 1 FROM pilot_event e WHERE e.pilot_id = p.id) "
        "ORDER BY p.name")).scalars().all()
    named = (calibration or {}).get("pilot")
    if named:  # the plan's own pilot, or none: never another pilot's scorecard
        pilot = named if named in logged else None
    else:
        pilot = logged[0] if len(logged) == 1 else None
    if pilot is None:
        return None
    try:
        return evaluate(conn, config_dir=config_dir, pilot=pilot)
    except ConfigError:  # the report goes out without the section; pilot evaluate names the problem
        return None
