"""``gis-service scaleup schedule``: from a stored plan to its desludging calendar (the roll-out
commands live here; they register on the groups they extend)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gis_service.cli.common import console, fail, quiet_stdout
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
) -> None:
    """The plan's scheduled-desludging calendar: each household emptied once per interval, the
    backlog within the first interval after it enrols, within the trucks and each IPLT's daily
    capacity, working days only (national holidays excluded)."""
    from gis_service.analysis import network as net
    from gis_service.analysis.rollout.calendar import build_calendar
    from gis_service.analysis.rollout.calendar_export import write_csv, write_geopackage
    from gis_service.analysis.scaleup.store import to_json
    from gis_service.db.engine import make_engine

    settings = get_settings()
    try:
        with quiet_stdout(as_json), make_engine().connect() as conn:
            run = run if run is not None else _published_plan(conn)
            result = build_calendar(conn, run, metric=settings.region_config().metric_crs,
                                    network_params=net.NetworkParams.from_config(settings.network_config()),
                                    config_dir=settings.config_dir, start=start, years=years)
            written = []
            if csv:
                written.append(f"{csv} ({write_csv(result, csv):,} emptyings)")
            if gpkg:
                counts = write_geopackage(conn, result, gpkg)
                written.append(f"{gpkg} (" + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + ")")
    except (ValueError, KeyError, OSError) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        typer.echo(to_json({"run_id": run, "scenario": result.scenario, "start": result.start, "years": years,
                            "emptyings": len(result.emptyings), "bases": result.bases.to_dict(orient="records"),
                            "plants": result.plants.to_dict(orient="records"),
                            "per_year": result.per_year.to_dict(orient="records"), "notes": result.notes}))
        return
    print_calendar(result)
    for line in written:
        console.print(f"wrote {escape(line)}")


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
