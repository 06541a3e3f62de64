"""``gis-service scaleup schedule``: from a stored plan to its desludging calendar (the roll-out
commands live here; they register on the groups they extend)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gis_service.cli.common import console, fail, quiet_stdout
from gis_service.cli.coverage import coverage_app
from gis_service.cli.scaleup import scaleup_app
from gis_service.settings import get_settings


@scaleup_app.command("schedule")
def scaleup_schedule(
    run: Annotated[Optional[int], typer.Option("--run", help="Scale-up run id (gis-service scaleup run prints it; "
                                                    "default: the published plan)")] = None,
    start: Annotated[Optional[str], typer.Option(help="First month, YYYY-MM (default: January of the plan's "
                                                      "first year)")] = None,
    years: Annotated[int, typer.Option(help="Years the calendar covers")] = 5,
    csv: Annotated[Optional[Path], typer.Option(help="Write one row per planned emptying here (CSV)")] = None,
    gpkg: Annotated[Optional[Path], typer.Option(help="Write emptyings, zones and the years here (GeoPackage)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print bases, plants, the years and notes as JSON")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Then write the plan's report here, roll-out included "
                                                        "(HTML)")] = None,
    english: Annotated[bool, typer.Option("--english", help="The report in English (default: Bahasa "
                                                            "Indonesia)")] = False,
) -> None:
    """The plan's scheduled-desludging calendar: each household emptied once per interval, the
    backlog within the first interval after it enrols, within the trucks and each IPLT's daily
    capacity, working days only (national holidays excluded)."""
    from gis_service.analysis.rollout.calendar_export import write_csv, write_geopackage
    from gis_service.analysis.rollout.store import as_record, save_rollout
    from gis_service.analysis.scaleup.store import to_json
    from gis_service.db.engine import make_engine

    try:
        with quiet_stdout(as_json), make_engine().begin() as conn:
            run = run if run is not None else _published_plan(conn)
            rollout = _build(conn, run, start, years)
            save_rollout(conn, rollout)
            written = []
            if csv:
                written.append(f"{csv} ({write_csv(rollout.calendar, csv):,} emptyings)")
            if gpkg:
                counts = write_geopackage(conn, rollout.calendar, gpkg)
                written.append(f"{gpkg} (" + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + ")")
    except (ValueError, KeyError, OSError) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        typer.echo(to_json({"run_id": run, "scenario": rollout.calendar.scenario, **as_record(rollout)}))
        return
    print_calendar(rollout.calendar)
    print_years(rollout.years)
    for line in written:
        console.print(f"wrote {escape(line)}")
    if report:
        from gis_service.cli.scaleup import scaleup_report

        scaleup_report(run, report, compare=None, english=english)


@scaleup_app.command("actions")
def scaleup_actions(
    run: Annotated[Optional[int], typer.Option("--run", help="Scale-up run id (default: the published plan)")] = None,
    csv: Annotated[Optional[Path], typer.Option(help="Write the matrix here (CSV, one row per action and year)")] = None,
    lang: Annotated[str, typer.Option(help="id (Bahasa Indonesia) or en")] = "id",
) -> None:
    """Actions by agency (Bappeda, Dinas PUPR, DLH, Dinkes, the operator, PDAM) per year, each with
    its budget line and indicator, from the plan's roll-out (config/actions.yml); built with the
    calendar if the run has none yet."""
    from gis_service.analysis.rollout.store import action_table, save_rollout, stored_rollout
    from gis_service.db.engine import make_engine

    if lang not in ("id", "en"):
        fail(f"--lang takes id or en (got '{lang}')")
    try:
        with make_engine().begin() as conn:
            run = run if run is not None else _published_plan(conn)
            stored = stored_rollout(conn, run)
            if stored is None:
                rollout = _build(conn, run, None, 5)
                save_rollout(conn, rollout)
                stored = stored_rollout(conn, run)
    except (ValueError, KeyError, OSError) as exc:
        fail(str(exc).strip("'\""))
    matrix = action_table(stored, lang)
    if csv:
        matrix.to_csv(csv, index=False, encoding="utf-8")
    print_actions(matrix, lang)
    if csv:
        console.print(f"wrote {escape(str(csv))} ({len(matrix)} actions by year)")


def _build(conn, run: int, start, years: int):
    from gis_service.analysis import network as net
    from gis_service.analysis.rollout.store import build_rollout

    settings = get_settings()
    return build_rollout(conn, run, metric=settings.region_config().metric_crs,
                         network_params=net.NetworkParams.from_config(settings.network_config()),
                         config_dir=settings.config_dir, start=start, years=years)


def _published_plan(conn) -> int:
    from gis_service.analysis.publishing import published_run

    found = published_run(conn, "scaleup")
    if found is None:
        raise ValueError("no scale-up plan is published: give --run N (gis-service scaleup run prints N) or "
                         "publish one (gis-service scaleup publish N)")
    return found


def print_calendar(result) -> None:
    bases = Table(title=f"Desludging calendar of run {result.run_id} ({escape(result.scenario)}) from "
                        f"{result.start:%Y-%m}: truck bases")
    for col in ("base", "trucks (short / medium term)", "trips per truck-day", "tanks per trip",
                "households (short / medium term)"):
        bases.add_column(col, justify="left" if col == "base" else "right")
    for b in result.bases.itertuples():
        bases.add_row(escape(b.base), f"{b.trucks_short_term} / {b.trucks_medium_term}", f"{b.trips_per_truck_day:g}",
                      str(b.tanks_per_trip), f"{b.households_short_term:,} / {b.households_medium_term:,}")
    console.print(bases)
    years = Table(title="Per year")
    for col in ("year", "from", "until", "emptyings", "trucks", "households enrolled",
                "aman (emptied within 5 years)", "revenue (Rp)"):
        years.add_column(col, justify="right")
    for y in result.per_year.to_dict(orient="records"):
        years.add_row(str(y["year"]), f"{y['from']:%Y-%m-%d}", f"{y['until']:%Y-%m-%d}", f"{y['emptyings']:,}",
                      str(y["trucks"]), f"{y['households_enrolled']:,}", f"{y['households_aman_5y']:,}",
                      f"{y['revenue_idr']:,.0f}")
    console.print(years)
    plants = Table(title="IPLT intake per year (m3 per working day: mean / highest day / capacity)")
    plants.add_column("IPLT")
    for y in result.per_year["year"]:
        plants.add_column(f"year {y}", justify="right")
    for name in result.plants["plant"]:
        cells = []
        for y in result.per_year.to_dict(orient="records"):
            cap = y[f"{name}: capacity m3/day"]
            cells.append(f"{y[f'{name}: m3/day mean']:.1f} / {y[f'{name}: m3/day max']:.1f} / "
                         + ("no limit" if cap is None else f"{cap:.1f}"))
        plants.add_row(escape(name), *cells)
    console.print(plants)
    for note in result.notes:
        console.print(f"note: {escape(note)}")


def print_years(years) -> None:
    table = Table(title="Roll-out by year: investment by funding line, running cost and revenue (million Rp)")
    for col in ("year", "phase", "APBN", "DAK", "APBD prov.", "APBD kab.", "other", "running cost", "revenue",
                "subsidy", "trucks bought", "septic tanks", "aman target %"):
        table.add_column(col, justify="right")
    for y in years.to_dict(orient="records"):
        table.add_row(f"{y['year']} ({y['calendar_year']})", ("", "short", "medium")[y["phase"]],
                      *[f"{y[f'{line}_idr'] / 1e6:,.0f}" for line in ("apbn", "dak", "apbd_province",
                                                                       "apbd_district", "other")],
                      f"{y['running_cost_idr'] / 1e6:,.0f}", f"{y['revenue_idr'] / 1e6:,.0f}",
                      f"{y['subsidy_idr'] / 1e6:,.0f}",
                      str(y["trucks_bought"]), f"{y['septic_tanks']:,}",
                      "-" if y["aman_target_pct"] is None or y["aman_target_pct"] != y["aman_target_pct"]
                      else f"{y['aman_target_pct']:g}")
    console.print(table)


def print_actions(matrix, lang: str) -> None:
    import pandas as pd

    table = Table(title="Aksi per OPD" if lang == "id" else "Actions by agency")
    for col in (("OPD", "aksi", "tahun", "anggaran (Rp)", "indikator") if lang == "id"
                else ("agency", "action", "year", "budget (Rp)", "indicator")):
        table.add_column(col)
    for r in matrix.to_dict(orient="records"):
        budget = r["budget_idr"]
        table.add_row(escape(r["agency_name"]), escape(r["action"]), f"{r['year']} ({r['calendar_year']})",
                      "-" if budget is None or budget is pd.NA or budget != budget else f"{budget:,.0f}",
                      escape(r["indicator"]))
    console.print(table)


@coverage_app.command("sfd")
def coverage_sfd(
    run: Annotated[Optional[int], typer.Option("--run", help="Coverage run id (default: the published run)")] = None,
    png: Annotated[Optional[Path], typer.Option(help="Draw the SFDs into this folder (PNG, one per area and "
                                                     "state)")] = None,
    csv: Annotated[Optional[Path], typer.Option(help="Write the SFD table here (CSV)")] = None,
    lang: Annotated[str, typer.Option(help="Labels: id (Bahasa Indonesia) or en")] = "id",
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON")] = False,
) -> None:
    """Shit flow diagrams per kecamatan and for the regency, now and if the run's scenario runs:
    containment, emptying, transport (the trial log's delivered share) and treatment (IPLT
    capacity against inflow); the safely managed share beside the ladder's aman share."""
    from gis_service.analysis.publishing import published_run
    from gis_service.analysis.rollout.sfd import build_sfd
    from gis_service.analysis.rollout.sfd_figure import sfd_figure
    from gis_service.analysis.rounding import number_text
    from gis_service.analysis.scaleup.figures import png as png_bytes
    from gis_service.analysis.scaleup.store import to_json
    from gis_service.db.engine import make_engine

    if lang not in ("id", "en"):
        fail(f"--lang takes id or en (got '{lang}')")
    settings = get_settings()
    try:
        with make_engine().connect() as conn:
            if run is None:
                run = published_run(conn, "coverage")
                if run is None:
                    raise ValueError("no coverage run is published: give --run N or publish one")
            result = build_sfd(conn, run, metric=settings.region_config().metric_crs,
                               config_dir=settings.config_dir)
        if csv:
            result.table.to_csv(csv, index=False, encoding="utf-8")
        drawn = 0
        if png:
            png.mkdir(parents=True, exist_ok=True)
            for row in result.table.to_dict(orient="records"):
                (png / f"sfd_{row['area_code']}_{row['state']}.png").write_bytes(png_bytes(sfd_figure(row, lang=lang)))
                drawn += 1
    except (ValueError, KeyError, OSError) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        typer.echo(to_json({"run_id": run, "scenario": result.scenario, "delivered_share": result.delivered_share,
                            "treated_share": result.treated_share, "rows": result.table.to_dict(orient="records"),
                            "notes": result.notes}))
        return
    table = Table(title=f"SFD of coverage run {run} ({escape(result.scenario)}): % of households")
    for col in ("area", "state", "off-site", "tank emptied in 5 years", "lost in transport", "untreated",
                "safely managed", "ladder aman"):
        table.add_column(col, justify="left" if col in ("area", "state") else "right")
    for r in result.table.to_dict(orient="records"):
        table.add_row(escape(r["area_name"]), r["state"],
                      *[number_text(r[c], 1) for c in ("offsite_pct", "emptied_pct", "lost_in_transport_pct",
                                                        "untreated_pct", "safely_managed_pct", "ladder_aman_pct")])
    console.print(table)
    console.print(f"delivered to an IPLT: {100 * result.delivered_share:.1f}% of the emptied sludge; treated: "
                  + ", ".join(f"{k} {100 * v:.1f}%" for k, v in result.treated_share.items()))
    for note in result.notes:
        console.print(f"note: {escape(note)}")
    if csv:
        console.print(f"wrote {escape(str(csv))}")
    if png:
        console.print(f"drew {drawn} SFDs into {escape(str(png))}")
