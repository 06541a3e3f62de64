"""``gis-service scaleup``: scenarios, calibration, planning runs, publishing, comparison, reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from gis_service.cli.common import console, err, fail, group, publish_run, quiet_stdout
from gis_service.cli.exports import layers_and_targets
from gis_service.cli.tables import number, one, print_calibration, print_scaleup
from gis_service.settings import get_settings

scaleup_app = group("scaleup", "Scale-up planning: from the pilot to a costed, phased plan for a region.")


@scaleup_app.command("scenarios")
def scaleup_scenarios(file: Annotated[Path, typer.Argument(help="Scenario YAML (see config/scenarios/)")],
                      region: Annotated[Optional[str], typer.Option(
                          help="Region of scenarios that name none (default: the configured region)")] = None
                      ) -> None:
    """Load (or update) scenarios and their scale-up plans from a YAML file."""
    from gis_service.planning.scenarios import load_scenarios
    from gis_service.db.engine import make_engine

    try:
        with make_engine().begin() as conn:
            ids = load_scenarios(conn, file, region_code=region or get_settings().region_config().code)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    console.print(f"loaded {len(ids)} scenarios from {file}")


@scaleup_app.command("calibrate")
def scaleup_calibrate(
    pilot: Annotated[Optional[str], typer.Option(help="Pilot name (default: every pilot of the region)")] = None,
    region: Annotated[Optional[str], typer.Option(help="Kemendagri code (default: configured region)")] = None,
) -> None:
    """What the pilot measured, beside the configured parameters and their sources."""
    from gis_service.analysis.parameters import load_parameter_values
    from gis_service.analysis.scaleup.calibration import calibrate, pilot_records, pilot_trucks
    from gis_service.db.engine import make_engine

    settings = get_settings()
    with make_engine().connect() as conn:
        params = load_parameter_values(conn, parameter_set_id=None, config_dir=settings.config_dir)
        try:
            codes = (region or settings.region_config().code).split(",")
            records = pilot_records(conn, region_codes=codes, pilot=pilot)
        except ValueError as exc:
            fail(str(exc))
        result = calibrate(records, params, trucks=pilot_trucks(conn))
    print_calibration(result, params)




@scaleup_app.command("run")
def scaleup_run(
    scenario: Annotated[str, typer.Option(help="Scenario name (gis-service scaleup scenarios FILE loads them)")],
    region: Annotated[Optional[str], typer.Option(help="Kemendagri code of the area to plan, or several "
                                                       "separated by commas (default: the scenario's region)")] = None,
    model: Annotated[Optional[str], typer.Option(help="Siting model for every step: exact, greedy or both "
                                                      "(default: each step's own)")] = None,
    calibration: Annotated[Optional[str], typer.Option(help="pilot (observed values) or defaults "
                                                            "(default: the scenario's plan)")] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds per exact siting solve")] = 60.0,
    report: Annotated[Optional[Path], typer.Option(help="Also write the meeting report (HTML) here")] = None,
    english: Annotated[bool, typer.Option("--english", help="Report in English (default: Bahasa Indonesia)")] = False,
    gpkg: Annotated[Optional[Path], typer.Option(help="Also write the plan's styled GeoPackage here")] = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish the plan once stored: the default layers, "
                                          "the web map's first view and the QGIS project then show it")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run id, headline, treatment and IPLT load "
                                          "per phase as JSON instead of tables")] = False,
) -> None:
    """Plan the scale-up of a scenario for a region, store it, print its headline (``--publish``: and
    publish it)."""
    from rich.progress import Progress

    from gis_service.analysis.scaleup.plan import ScaleupOptions, run_scaleup
    from gis_service.db.engine import make_engine

    if model not in (None, "exact", "greedy", "both"):
        fail(f"--model takes exact, greedy or both (got '{model}')")
    if calibration not in (None, "pilot", "defaults"):
        fail(f"--calibration takes pilot or defaults (got '{calibration}')")
    options = ScaleupOptions(scenario=scenario, region=region, model=model, calibration=calibration,
                             time_limit=time_limit)
    try:
        with quiet_stdout(as_json), Progress(transient=True, console=err) as bar:
            task = bar.add_task("scale-up", total=4)
            result = run_scaleup(make_engine(), options, progress=lambda name: (
                bar.update(task, description=name), bar.advance(task)))
    except (ValueError, KeyError) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        from gis_service.analysis.scaleup.store import to_json

        s = result.summary
        typer.echo(to_json({"run_id": result.run_id, "region": s["region"], "target": s["target"],
                            "headline": s["headline"], "treatment": s["treatment"], "iplt_load": s["iplt_load"],
                            "phases": result.phases.to_dict(orient="records"), "notes": s["notes"]}))
    else:
        print_scaleup(result)
    if report:
        scaleup_report(result.run_id, report, compare=None, english=english)
    if gpkg:
        scaleup_export(result.run_id, gpkg)
    if publish:
        publish_run(make_engine(), "scaleup", result.run_id)


@scaleup_app.command("publish")
def scaleup_publish(run: Annotated[int, typer.Argument(help="Scale-up run id")]) -> None:
    """Publish a scale-up plan: the default layers (scaleup_villages, scaleup_facilities), the web
    map and the QGIS project show it from now on."""
    from gis_service.db.engine import make_engine

    publish_run(make_engine(), "scaleup", run)




def _stored_runs(engine, run_ids: list[int]):
    from gis_service.analysis.scaleup.report import read_run

    metric = get_settings().region_config().metric_crs
    with engine.connect() as conn:
        try:
            return [read_run(conn, r, metric_crs=metric) for r in run_ids]
        except ValueError as exc:
            fail(str(exc))


@scaleup_app.command("compare")
def scaleup_compare(run_ids: Annotated[list[int], typer.Argument(help="Scale-up run ids")],
                    map_file: Annotated[Optional[Path], typer.Option(
                        "--map", help="Also draw the runs side by side into this PNG")] = None,
                    lang: Annotated[str, typer.Option(help="id (Bahasa Indonesia) or en")] = "id") -> None:
    """Compare scale-up runs side by side: one table (and one map)."""
    from gis_service.analysis.scaleup import figures
    from gis_service.analysis.scaleup.report import compare_table
    from gis_service.db.engine import make_engine

    runs = _stored_runs(make_engine(), run_ids)
    frame = compare_table(runs)
    table = Table(title="Scale-up runs compared")
    for col in ("run", "scenario", "new", "served %", "aman %", "investment (Rp)", "running (Rp/yr)",
                "tariff (Rp)", "villages S/M/L"):
        table.add_column(col)
    for r in frame.itertuples():
        table.add_row(str(r.run), r.scenario, str(r.new_facilities),
                      f"{one(r.coverage_now_pct)} -> {one(r.coverage_plan_pct)}", f"{one(r.aman_now_pct)} -> {one(r.aman_plan_pct)}",
                      f"{r.capex_idr:,.0f}", f"{r.opex_idr_per_year:,.0f}", number(r.flat_tariff_idr),
                      f"{r.villages_short_term}/{r.villages_medium_term}/{r.villages_later}")
    console.print(table)
    if map_file:
        fig = figures.compare_map([(r.scenario, r.villages, r.facilities) for r in runs], lang=lang)
        map_file.write_bytes(figures.png(fig))
        console.print(f"wrote {map_file}")


@scaleup_app.command("report")
def scaleup_report(run_id: Annotated[int, typer.Argument(help="Scale-up run id")],
                   file: Annotated[Path, typer.Argument(help="HTML file to write")],
                   compare: Annotated[Optional[list[int]], typer.Option(
                       help="Other runs to compare with (repeat the option)")] = None,
                   english: Annotated[bool, typer.Option("--english", help="Write the report in English "
                                                         "(default: Bahasa Indonesia)")] = False) -> None:
    """The working-group report of a run (HTML, maps and charts embedded); the trial's scorecard
    comes first when the pilot has an operation log."""
    from gis_service.analysis.pilot_evaluation import trial_card
    from gis_service.analysis.rollout.sfd_figure import report_sfd
    from gis_service.analysis.scaleup.report import write_report
    from gis_service.db.engine import make_engine

    engine = make_engine()
    runs = _stored_runs(engine, [run_id, *(compare or [])])
    with engine.connect() as conn:
        trial = trial_card(conn, config_dir=get_settings().config_dir, calibration=runs[0].calibration)
        sfd = report_sfd(conn, metric=get_settings().region_config().metric_crs, config_dir=get_settings().config_dir,
                         lang="en" if english else "id")
    console.print(f"wrote {write_report(runs, file, lang='en' if english else 'id', trial=trial, sfd=sfd)}")


@scaleup_app.command("export")
def scaleup_export(run_id: Annotated[int, typer.Argument(help="Scale-up run id")],
                   file: Annotated[Path, typer.Argument(help="GeoPackage to write (.gpkg)")]) -> None:
    """A run's facilities and villages as styled GeoPackage layers, with its requirements and phases
    as tables, for QGIS."""
    from gis_service.api.geopackage import export_plan_geopackage
    from gis_service.db.engine import make_engine

    if file.suffix.lower() != ".gpkg":
        fail(f"{file}: give a .gpkg file name")
    engine = make_engine()
    layers, targets = layers_and_targets()
    counts = export_plan_geopackage(engine, _stored_runs(engine, [run_id])[0], layers, targets, file)
    console.print(f"wrote {file}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
