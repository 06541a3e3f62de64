"""The command line's tables (rich): the database summary, a coverage run's regency summary, a
scale-up plan's headline, siting and phases, a calibration."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gis_service.analysis.rounding import number_text
from gis_service.cli.common import console


def one(value) -> str:
    """A share or amount to one decimal, rounded half up like the web map and the report."""
    return number_text(value, 1, thousands=False)


def print_summary(engine) -> None:
    from gis_service.db.summary import database_summary

    s = database_summary(engine)
    table = Table(title="Planning database" + (" (contains ILLUSTRATIVE demo data)" if s["illustrative"]
                                               else ""))
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in s["counts"].items():
        table.add_row(label, f"{value:,}")
    console.print(table)
    fac = Table(title="Facilities by type and status")
    for col in ("type", "status", "count"):
        fac.add_column(col)
    for t, st, n in s["facilities"]:
        fac.add_row(t, st, str(n))
    console.print(fac)




def print_coverage(result) -> None:
    s = result.summary
    title = f"Coverage run {result.run_id}" if result.run_id is not None else "Coverage run (files)"
    table = Table(title=f"{title}: regency summary")
    for col in ("", "households", "people"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("total", f"{s['households']:,}", f"{s['people']:,}")
    for key in sorted(k for k in s if k.startswith("served_") and k.endswith("_households")):
        service = key[len("served_"):-len("_households")]
        label = "served by any service" if service == "all" else f"served: {service}"
        table.add_row(label, f"{s[key]:,}", f"{s[f'served_{service}_people']:,}")
    if "lltt_bands" in s:
        unit = s.get("band_unit", "")
        bands = ", ".join(f"{k.split('_', 1)[1]} {unit}: {v:,}" for k, v in s["lltt_bands"].items())
        table.caption = f"households within reach of scheduled desludging - {bands}"
    console.print(table)
    for note in s.get("demand", {}).get("notes", []):
        console.print(f"demand: {note}")
    if "engine" in s:
        e = s["engine"]
        console.print(f"engine: dask, {e['workers']} workers, {e['partitions']} units ({e['level']}), "
                      f"{e['allocation_groups']} allocation tasks")
        if e.get("work_dir"):
            console.print(f"work folder kept: {e['work_dir']}", soft_wrap=True)
    if s.get("facilities_without_drawn_area"):
        ids = s["facilities_without_drawn_area"]
        console.print(f"[yellow]{len(ids)} facilities have no drawn service area and reach nobody in this "
                      f"run[/] (ids {', '.join(map(str, ids[:10]))}{' ...' if len(ids) > 10 else ''}); "
                      "import them with: gis-service import service_areas FILE")
    ladder = Table(title="Access ladder (households): now -> if the scenario runs")
    for col in ("rung", "now", "projected"):
        ladder.add_column(col, justify="left" if col == "rung" else "right")
    for rung, now in s["ladder"].items():
        ladder.add_row(rung, f"{now:,}", f"{s['ladder_projected'][rung]:,}")
    console.print(ladder)
    gaps = result.gaps
    if not gaps.empty:
        reg = gaps[gaps.area_code == result.areas[result.areas.level == "regency"].area_code.iloc[0]]
        gt = Table(title="Gap to targets (regency)")
        for col in ("indicator", "year", "target %", "now %", "projected %", "gap households", "gap people"):
            gt.add_column(col, justify="left" if col == "indicator" else "right")
        for _, g in reg.iterrows():
            gt.add_row(g.indicator, str(g.year), f"{g.target_pct:g}", f"{one(g.current_pct)}", f"{one(g.projected_pct)}",
                       f"{g.gap_households:,}", f"{g.gap_people:,}")
        console.print(gt)
    console.print(f"timings (s): {result.seconds}", soft_wrap=True)




def print_calibration(result, params: dict) -> None:
    table = Table(title=f"Calibration from {result.source}")
    for col in ("parameter", "observed", "configured", "unit", "used by a plan", "note / configured source"):
        table.add_column(col, justify="right" if col in ("observed", "configured") else "left")
    for row in result.rows:
        note = row.note or params.get(row.key, {}).get("source", "")
        table.add_row(row.key, number(row.observed), number(row.configured), row.unit,
                      "yes" if row.calibrates else "reported", note)
    console.print(table)


IDLE_REASONS = {
    "outside_region": "it lies outside the region's villages",
    "capacity_zero": "its capacity is 0",
    "no_drawn_area": "no service area is drawn for it (gis-service import service_areas FILE)",
    "off_network": "no road or river lies within the joining distance ({max_snap_m:g} m)",
    "nobody_in_reach": "no household lies within {reach}",
    "nobody_in_drawn_area": "no household lies inside its drawn service area",
    "served_by_others": "the {households_in_reach:,} households in reach were served by other facilities first "
                        "(or its plant's capacity was used up)",
    "not_in_scenario": "it was saved or changed since the last run but is not in the scenario '{scenario}'",
}


def print_changes(changes: dict) -> None:
    """What the run changed against the run before it, and a warning per facility serving nobody."""
    if changes["against"] is not None:
        diff = changes["served_households_after"] - changes["served_households_before"]
        console.print(f"against run {changes['against']}: households served {changes['served_households_before']:,} -> "
                      f"{changes['served_households_after']:,} ({diff:+,}); {changes['villages_gained']} villages "
                      f"gained {changes['households_gained']:,} households, {changes['villages_lost']} lost "
                      f"{changes['households_lost']:,}; facilities added {len(changes['facilities_added'])}, "
                      f"removed {len(changes['facilities_removed'])}", soft_wrap=True)
    for f in changes["idle_facilities"]:
        why = IDLE_REASONS[f["reason"]].format(**{"max_snap_m": 0, "reach": "reach", "scenario": "", **{
            k: v for k, v in f.items() if v is not None}})
        name = f["name"] if f["name"] is not None else f"#{f['id']}"  # deleted since the run
        # names are the planners' own text: printed as text, never read as rich markup
        console.print(Text(f"warning: facility {f['id']} '{name}' ({f['type']}) serves nobody: {why}", style="yellow"),
                      soft_wrap=True)


def number(v) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.3g}"




def print_iplt_load(loads: list[dict], treated: dict) -> None:
    """Sludge each IPLT receives against what it treats, per phase (m3/day)."""
    if not loads:
        return
    table = Table(title="IPLT load against capacity (m3/day)")
    for col in ("IPLT", "phase", "capacity", "load", "from its own trucks", "from depots", "load / capacity"):
        table.add_column(col, justify="left" if col == "IPLT" else "right")
    for r in loads:
        cap = r["capacity_m3_day"]
        table.add_row(escape(r["name"]), ("now", "short term", "medium term")[r["phase"]],
                      "no limit recorded" if cap is None else f"{cap:.1f}", f"{r['load_m3_day']:.1f}",
                      f"{r['from_own_trucks_m3_day']:.1f}", f"{r['from_depots_m3_day']:.1f}",
                      "-" if not cap else f"{100 * r['load_m3_day'] / cap:.0f}%")
    console.print(table)
    if treated.get("m3_per_day_usable") is not None and treated.get("m3_per_day_in_plan") is not None:
        console.print(f"the plan loads at most {treated['m3_per_day_usable']:.1f} of the "
                      f"{treated['m3_per_day_in_plan']:.1f} m3/day its IPLTs treat: whole tanks a day at the design "
                      "load (iplt_design_load)")
    if treated.get("overloaded"):
        console.print(f"[bold red]overloaded:[/] {escape(', '.join(treated['overloaded']))}")


def print_scaleup(result) -> None:
    s = result.summary
    h = s["headline"]
    table = Table(title=f"Scale-up run {result.run_id}: {s['region']['name']} ({s['region']['code']}), "
                        f"target {s['target']['indicator']} {s['target']['year']}")
    table.add_column("")
    table.add_column("value", justify="right")
    rows = [("households served (in reach, within capacity and treatment), now -> plan",
             f"{one(h['coverage_now_pct'])}% -> {one(h['coverage_plan_pct'])}%"),
            ("households aman, now -> plan", f"{one(h['aman_now_pct'])}% -> {one(h['aman_plan_pct'])}%"),
            ("new facilities / extra trucks", f"{h['new_facilities']} / {h['extra_trucks']}"),
            ("investment (Rp)", f"{h['capex_total_idr']:,.0f}"),
            ("running cost (Rp/year)", f"{h['opex_total_idr_per_year']:,.0f}"),
            ("cost-recovery tariff, flat (Rp/emptying)", number(h["flat_tariff_idr"])),
            ("subsidy gap at the configured tariffs (Rp/year)", number(h["subsidy_gap_idr_per_year"])),
            ("villages: short term / medium term / later",
             f"{h['villages_short_term']} / {h['villages_medium_term']} / {h['villages_later']}")]
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    sit = Table(title="Siting")
    for col in ("step", "type", "candidates", "chosen", "newly covered (exact / greedy)", "gap", "seconds"):
        sit.add_column(col)
    for r in s["siting"]:
        ex, gr = r.get("exact"), r.get("greedy")
        cov = " / ".join(f"{x['newly_covered']:,.0f}" if x else "-" for x in (ex, gr))
        secs = " / ".join(f"{x['seconds']:.2f}" if x else "-" for x in (ex, gr))
        gap = f"{100 * r['optimality_gap']:.2f}%" if "optimality_gap" in r else "-"
        sit.add_row(str(r["step"] + 1), r["type"], str(r["candidates"]), str(r["chosen"]), cov, gap, secs)
    if s["siting"]:
        console.print(sit)
    ph = Table(title="Phases")
    for col in ("phase", "until", "new facilities", "coverage %", "aman %", "layak %", "investment (Rp)",
                "running (Rp/yr)"):
        ph.add_column(col, justify="right")
    for p in result.phases.itertuples():
        ph.add_row(("now", "short term", "medium term")[p.phase], str(p.until_year), str(p.new_facilities),
                   f"{one(p.coverage_pct)}", f"{one(p.aman_pct)}", f"{one(p.layak_pct)}", f"{p.capex_idr:,.0f}",
                   f"{p.opex_idr_per_year:,.0f}")
    console.print(ph)
    print_iplt_load(s.get("iplt_load", []), s.get("treatment", {}))
    from gis_service.analysis.scaleup.phasing import NOTES

    for note in s.get("notes", []) + [NOTES["en"].get(n, n) for n in s["priority"]["notes"]]:
        console.print(f"note: {escape(note)}")
    console.print(f"timings (s): {result.seconds}", soft_wrap=True)
