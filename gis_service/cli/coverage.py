"""``gis-service coverage``: run, publish, map, export and compare coverage analyses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from gis_service.cli.common import console, err, fail, group, publish_run
from gis_service.cli.tables import print_changes, print_coverage
from gis_service.settings import get_settings

coverage_app = group("coverage", "Coverage analysis: who is served, the access ladder and the gaps.")


def _thresholds(value: str) -> list[float]:
    try:
        out = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        fail(f"--threshold takes minutes separated by commas, e.g. 15,30,60 (got '{value}')")
    if not out or min(out) <= 0:
        fail("--threshold needs positive minutes")
    return out


@coverage_app.command("run")
def coverage_run(
    scenario: Annotated[Optional[str], typer.Option(help="Scenario name (default: existing + pilot)")] = None,
    method: Annotated[str, typer.Option(help="network (travel time), buffer (distance) or polygon "
                                             "(service areas drawn by planners)")] = "network",
    threshold: Annotated[str, typer.Option(help="Travel-time bands in minutes, e.g. 30,60")] = "30,60",
    distance: Annotated[float, typer.Option(help="Buffer radius in metres (method buffer)")] = 5000.0,
    capacity: Annotated[bool, typer.Option(help="Limit each facility to its capacity")] = True,
    order: Annotated[str, typer.Option(help="Facility order: priority, given or demand")] = "priority",
    service_areas: Annotated[bool, typer.Option(help="Store service-area polygons for the maps")] = True,
    demand: Annotated[str, typer.Option(help="households, settlements, villages (population spread onto "
                                             "settlements) or raster")] = "households",
    raster: Annotated[Optional[Path], typer.Option(help="Population GeoTIFF for --demand raster")] = None,
    population_year: Annotated[Optional[int], typer.Option(help="Year of village population "
                                                               "(--demand villages; default latest)")] = None,
    nearest_k: Annotated[int, typer.Option(help="Store the k nearest reachable facilities per household "
                                                "and service (0: none)")] = 3,
    export: Annotated[Optional[Path], typer.Option(help="Also write the results: FILE.csv or FILE.gpkg")] = None,
    maps: Annotated[Optional[Path], typer.Option(help="Also draw the two Buku Putih maps (PNG) into DIR")] = None,
    engine_name: Annotated[str, typer.Option("--engine", help="single (one process) or dask (partitioned by "
                                             "admin unit over a Dask cluster; same results)")] = "single",
    scheduler: Annotated[Optional[str], typer.Option(help="--engine dask: tcp://HOST:PORT of a running "
                                                          "dask scheduler (default: a local cluster)")] = None,
    workers: Annotated[Optional[int], typer.Option(help="--engine dask, local cluster: worker processes "
                                                        "(default: the machine's cores)")] = None,
    level: Annotated[Optional[str], typer.Option(help="--engine dask: partition by province, regency or "
                                                      "district (default: one level below the region)")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="--engine dask: finish the interrupted run whose "
                                                        "work folder this is")] = None,
    keep_work: Annotated[bool, typer.Option(help="--engine dask: keep the work folder (GeoParquet "
                                                 "inputs and intermediates) after success")] = False,
    dataset: Annotated[Optional[Path], typer.Option(help="--engine dask: run on a dataset folder of "
                                                         "GeoParquet (e.g. `demo national`) instead of the "
                                                         "database")] = None,
    output: Annotated[Optional[Path], typer.Option(help="--engine dask: write the results as GeoParquet "
                                                        "files into DIR instead of the database")] = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish the run once stored: the default layers, "
                                          "the web map's first view and the QGIS project then show it")] = False,
) -> None:
    """Run a coverage analysis, store it, print the regency summary (``--publish``: and publish it)."""
    from gis_service.analysis.coverage import CoverageOptions
    from gis_service.db.engine import make_engine

    options = CoverageOptions(scenario=scenario, method=method, thresholds_min=_thresholds(threshold),
                              distance_m=distance, capacity=capacity, order=order,
                              service_areas=service_areas, demand=demand, raster=raster,
                              population_year=population_year, nearest_k=nearest_k)
    if engine_name not in ("single", "dask"):
        fail(f"unknown engine '{engine_name}' (single, dask)")
    if engine_name == "single" and (scheduler or workers or level or resume or keep_work or dataset or output):
        fail("--scheduler, --workers, --level, --resume, --keep-work, --dataset and --output need --engine dask")
    if (dataset is not None or output is not None) and (export or maps or publish):
        fail("--export, --maps and --publish need a stored run; a run on a dataset folder or with --output "
              "is in its --output folder")
    engine = make_engine() if dataset is None else None
    try:
        if engine_name == "dask":
            from gis_service.distributed.engine import ClusterOptions

            cluster = ClusterOptions(scheduler=scheduler, workers=workers, level=level, resume=resume, keep=keep_work)
            result = _coverage_on_cluster(engine, options, cluster, dataset, output)
        else:
            result = _coverage_in_process(engine, options)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        fail(str(exc).strip("'\""))
    print_coverage(result)
    if output is not None:
        console.print(f"results written to {output} (GeoParquet; run.json has the summary)", soft_wrap=True)
        return
    _changes(engine, result.run_id)
    if export:
        _export(engine, result.run_id, export)
    if maps:
        _maps(engine, result.run_id, maps, dpi=150)
    if publish:
        publish_run(engine, "coverage", result.run_id)


@coverage_app.command("publish")
def coverage_publish(run: Annotated[int, typer.Argument(help="Coverage run id (gis-service summary lists runs)")]) -> None:
    """Publish a coverage run: the default layers (coverage_villages, coverage_districts, coverage_gaps,
    service_areas), the web map's first view and the QGIS project show it from now on."""
    from gis_service.db.engine import make_engine

    publish_run(make_engine(), "coverage", run)




def _changes(engine, run_id: int) -> None:
    from gis_service.analysis.network import NetworkParams
    from gis_service.analysis.run_changes import run_changes

    settings = get_settings()
    snap = NetworkParams.from_config(settings.network_config()).max_snap_m
    with engine.connect() as conn:
        print_changes(run_changes(conn, run_id, metric_crs=settings.region_config().metric_crs, max_snap_m=snap))


def _coverage_in_process(engine, options):
    from rich.progress import Progress

    from gis_service.analysis.coverage import run_coverage

    with Progress(transient=True, console=err) as bar:
        task = bar.add_task("coverage", total=4)
        return run_coverage(engine, options, progress=lambda name: (
            bar.update(task, description=name), bar.advance(task)))


def _coverage_on_cluster(engine, options, cluster, dataset, output):
    """One progress bar per step (staging, reach, allocation, counting, writing), across workers."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gis_service.distributed.engine import ClusterRunError, run_coverage_dask

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err) as bar:
        steps: dict[str, int] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in steps:
                steps[step] = bar.add_task(step, total=total)
            bar.update(steps[step], completed=done, total=total)

        try:
            return run_coverage_dask(engine, options, cluster=cluster, progress=report, dataset=dataset,
                                     output=output)
        except ClusterRunError as exc:
            fail(str(exc))




def _export(engine, run_id: int, path: Path) -> None:
    from gis_service.analysis.export import export_run

    with engine.connect() as conn:
        try:
            written = export_run(conn, run_id, path)
        except ValueError as exc:
            fail(str(exc))
    console.print(f"written {written}")


def _maps(engine, run_id: int, out_dir: Path, *, dpi: int) -> None:
    from gis_service.analysis.maps import render_maps

    out_dir.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        try:
            paths = render_maps(conn, run_id, out_dir, metric_crs=get_settings().region_config().metric_crs,
                                dpi=dpi)
        except ValueError as exc:
            fail(str(exc))
    for path in paths:
        console.print(f"written {path}")


@coverage_app.command("maps")
def coverage_maps(run_id: int,
                  out: Annotated[Path, typer.Option(help="Folder for the PNG files")] = Path("out/maps"),
                  dpi: Annotated[int, typer.Option(help="Resolution (150 for screens, 300 for print)")] = 150,
                  ) -> None:
    """Draw a run's two Buku Putih maps: service coverage and main infrastructure (PNG)."""
    from gis_service.db.engine import make_engine

    _maps(make_engine(), run_id, out, dpi=dpi)


@coverage_app.command("export")
def coverage_export(run_id: int, file: Path) -> None:
    """Write a run's results: one row per village (.csv) or villages and facilities (.gpkg)."""
    from gis_service.db.engine import make_engine

    _export(make_engine(), run_id, file)


@coverage_app.command("diff")
def coverage_diff(run_a: int, run_b: int,
                  csv: Annotated[Optional[Path], typer.Option(help="Write the table to a CSV")] = None) -> None:
    """Compare two runs village by village (households served, projected aman and BABS)."""
    from gis_service.analysis.export import diff_runs
    from gis_service.db.engine import make_engine

    with make_engine().connect() as conn:
        try:
            table = diff_runs(conn, run_a, run_b)
        except ValueError as exc:
            fail(str(exc))
    if csv:
        table.to_csv(csv, index=False)
    changed = table[(table.filter(like="_change") != 0).any(axis=1)]
    out = Table(title=f"Runs {run_a} -> {run_b}: {len(changed)} of {len(table)} villages change")
    for col in ("village", "served A", "served B", "aman A", "aman B"):
        out.add_column(col)
    for _, r in changed.iterrows():
        out.add_row(f"{r.code} {r['name'] or ''}", f"{int(r.any_served_households_a)}",
                    f"{int(r.any_served_households_b)}", f"{int(r.aman_projected_a)}",
                    f"{int(r.aman_projected_b)}")
    console.print(out)
