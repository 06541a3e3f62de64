"""Results over HTTP: coverage runs (list, regency and district summary, villages as JSON or CSV,
the run's GeoPackage) and scale-up plans (list, summary with phases and the roll-out, the meeting
report, the styled GeoPackage, villages and the actions by agency as CSV), plus ``/api/config`` for the web map. Reads follow
``public_read``; every file is made in a temporary folder that is removed once it was sent."""

# no ``from __future__ import annotations``: FastAPI reads the route annotations
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, Response
from sqlalchemy import Engine, text
from starlette.background import BackgroundTask

from gis_service import __version__
from gis_service.analysis import results
from gis_service.api.auth import requires
from gis_service.api.layers import load_layers
from gis_service.api.facilities import errors
from gis_service.api.styles import read_targets
from gis_service.db.users import User
from gis_service.settings import Settings

GPKG = "application/geopackage+sqlite3"


def _export(filename: str, media_type: str, write: Callable[[Path], object], *, inline: bool = False) -> FileResponse:
    """``write`` the file into a new temporary folder and send it (``inline``: for the browser to
    show, else to save); the folder goes once it was sent, or at once when writing fails (a run
    that cannot be exported is 422)."""
    folder = tempfile.mkdtemp(prefix="gis-service-")
    path = Path(folder) / filename
    try:
        write(path)
    except ValueError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(422, {"message": str(exc), "field": "run_id"}) from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(path, media_type=media_type, filename=filename,
                        content_disposition_type="inline" if inline else "attachment",
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def router(settings: Settings, engine: Engine) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["results"], responses=errors(401, 403))
    reader = requires("viewer", engine, public=settings.public_read)
    editor = requires("editor", engine)
    region = settings.region_config()

    def published_at(table: str, run_id: int):
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT published_at FROM {table} WHERE id = :i"), {"i": run_id}).scalar()

    def publish(kind: str, run_id: int, user: User) -> dict:
        from gis_service.analysis.publishing import publish as publish_run

        try:
            with engine.begin() as conn:
                return publish_run(conn, kind, run_id, by=user.name)
        except ValueError as exc:
            raise HTTPException(404, {"message": str(exc), "field": "run_id"}) from exc

    def layers():
        return load_layers(settings.layers_dir, include_sensitive=settings.publish_household_points)

    def targets() -> list[dict]:
        return read_targets(settings.config_dir / "targets.yml")

    def coverage_run(run_id: int) -> dict:
        with engine.connect() as conn:
            summary = results.run_summary(conn, run_id)
        if summary is None:
            raise HTTPException(404, {"message": f"no coverage run {run_id}; GET /api/runs lists them",
                                      "field": "run_id"})
        return summary

    def stored_plan(run_id: int):
        from gis_service.analysis.scaleup.report import read_run

        with engine.connect() as conn:
            try:
                return read_run(conn, run_id, metric_crs=region.metric_crs)
            except ValueError as exc:
                raise HTTPException(404, {"message": str(exc), "field": "run_id"}) from exc

    @api.get("/config")
    def config() -> dict:
        """What the web map needs to start: the region, whether a basemap is configured, whether
        reads are public, the service version."""
        return {"region": {"code": region.code, "name": region.name, "bbox": list(region.bbox)},
                "basemap": bool(settings.basemap_tiles), "public_read": settings.public_read,
                "version": __version__}

    @api.get("/runs", responses=errors(422))
    def runs(user: Annotated[User, Depends(reader)], limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
        """Coverage runs, newest first, with the regency's coverage and aman share; ``published_at``
        is set on published runs, and the default layers show the one published last."""
        with engine.connect() as conn:
            return results.list_runs(conn, limit=limit)

    @api.get("/runs/{run_id}/summary", responses=errors(404, 422))
    def run_summary(run_id: int, user: Annotated[User, Depends(reader)]) -> dict:
        """The regency totals, every district and the regency's gaps to the targets."""
        return coverage_run(run_id)

    @api.get("/runs/{run_id}/villages", responses={**errors(404, 422), 200: {
        "content": {"application/json": {}, "text/csv": {}}, "description": "One row per village"}})
    def run_villages(run_id: int, user: Annotated[User, Depends(reader)],
                     f: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
                     lang: Annotated[Literal["id", "en"] | None, Query(
                         description="csv: headers in this language, and with id ';' between columns and "
                                     "decimal commas (Indonesian Excel); default: column codes, ',' and '.'")] = None):
        """Every village: households, served, coverage and the ladder now and projected."""
        coverage_run(run_id)
        with engine.connect() as conn:
            rows = results.village_rows(conn, run_id)
        if f == "csv":
            suffix = f"_{lang}" if lang else ""
            return Response(results.village_csv(rows, lang=lang), media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="cakupan_run_{run_id}{suffix}.csv"'})
        return rows

    @api.get("/runs/{run_id}/changes", responses=errors(404, 422))
    def run_changes(run_id: int, user: Annotated[User, Depends(reader)],
                    against: Annotated[int | None, Query(description="The other run (default: the last "
                                                                   "earlier run of the same scenario)")] = None) -> dict:
        """What the run changed against another: households served before and after, the villages
        that gained or lost (largest first), facilities only one run had, and the run's facilities
        that serve nobody with the reason (outside_region, capacity_zero, no_drawn_area,
        off_network, nobody_in_reach, served_by_others, not_in_scenario)."""
        from gis_service.analysis.run_changes import run_changes as changes

        coverage_run(run_id)
        if against is not None:
            coverage_run(against)
        from gis_service.analysis.network import NetworkParams

        snap = NetworkParams.from_config(settings.network_config()).max_snap_m
        with engine.connect() as conn:
            return changes(conn, run_id, against, metric_crs=region.metric_crs, max_snap_m=snap)

    @api.get("/runs/{run_id}/export.gpkg", response_class=FileResponse,
             responses={**errors(404, 422), 200: {"content": {GPKG: {}}, "description": "GeoPackage"}})
    def run_geopackage(run_id: int, user: Annotated[User, Depends(reader)]):
        """The run's areas, service areas and gaps as styled layers and its village table (QGIS
        opens it styled)."""
        from gis_service.api.geopackage import export_run_geopackage

        coverage_run(run_id)
        return _export(f"cakupan_run_{run_id}.gpkg", GPKG,
                       lambda path: export_run_geopackage(engine, run_id, layers(), targets(), path))

    @api.post("/runs/{run_id}/publish", responses=errors(404, 422))
    def run_publish(run_id: int, user: Annotated[User, Depends(editor)]) -> dict:
        """Publish the coverage run: the default layers (coverage_villages, coverage_districts,
        coverage_gaps, service_areas), the web map's first view and the QGIS project show it from
        now on. Editors only; ``replaces`` is the run published before."""
        return publish("coverage", run_id, user)

    def trial(pilot: str | None) -> dict:
        from gis_service.analysis.pilot_evaluation import ConfigError, NoLog, evaluate

        with engine.connect() as conn:
            try:
                return evaluate(conn, config_dir=settings.config_dir, pilot=pilot)
            except NoLog as exc:
                raise HTTPException(404, {"message": str(exc), "field": "pilot"}) from exc
            except ConfigError as exc:  # the server's configuration, not the request: say what to fix
                raise HTTPException(500, {"message": str(exc), "field": None}) from exc

    @api.get("/pilots", responses=errors(422))
    def pilots(user: Annotated[User, Depends(reader)]) -> list[dict]:
        """The pilots with their period and how many rows their operation log has (0: no log yet,
        so no scorecard)."""
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(
                "SELECT p.name, p.start_date, p.end_date, count(e.id) AS log_rows FROM pilot p "
                "LEFT JOIN pilot_event e ON e.pilot_id = p.id GROUP BY p.id ORDER BY p.name")).mappings()]

    @api.get("/pilot/evaluation", responses=errors(404, 422, 500))
    def pilot_evaluation(user: Annotated[User, Depends(reader)],
                         pilot: Annotated[str | None, Query(description="The pilot's name (default: the only one "
                                                                         "with an operation log)")] = None) -> dict:
        """The trial's scorecard from its operation log over the pilot's period: each indicator with
        its value, status (good, watch, poor, info, no data), thresholds and recommendation (id, en),
        and the institutional checklist (as ``gis-service pilot evaluate --json``)."""
        return trial(pilot)

    @api.get("/pilot/evaluation.html", response_class=FileResponse,
             responses={**errors(404, 422, 500), 200: {"content": {"text/html": {}}, "description": "Scorecard page"}})
    def pilot_evaluation_page(user: Annotated[User, Depends(reader)], pilot: Annotated[str | None, Query()] = None,
                              lang: Annotated[Literal["id", "en"], Query()] = "id"):
        """The scorecard as a page (prints on A4), in Bahasa Indonesia or English."""
        from gis_service.analysis.scaleup.report import write_trial_report

        card = trial(pilot)
        return _export("hasil_uji_coba.html", "text/html; charset=utf-8",
                       lambda path: write_trial_report(card, path, lang=lang), inline=True)

    @api.get("/plans", responses=errors(422))
    def plans(user: Annotated[User, Depends(reader)], limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
        """Scale-up runs, newest first, with their headline."""
        with engine.connect() as conn:
            return results.list_plans(conn, limit=limit)

    @api.get("/plans/{run_id}", responses=errors(404, 422))
    def plan(run_id: int, user: Annotated[User, Depends(reader)]) -> dict:
        """The plan's stored summary (headline, siting, finance, institutions, priority) and phases."""
        run = stored_plan(run_id)
        return {"id": run.id, "scenario_name": run.scenario, "region_code": run.region,
                "started_at": run.started_at, "illustrative": run.illustrative, "summary": run.summary,
                "published_at": published_at("scaleup_run", run_id),
                "phases": run.phases.drop(columns="run_id").to_dict("records")}

    @api.post("/plans/{run_id}/publish", responses=errors(404, 422))
    def plan_publish(run_id: int, user: Annotated[User, Depends(editor)]) -> dict:
        """Publish the scale-up plan: the layers scaleup_villages and scaleup_facilities, the web
        map and the QGIS project show it from now on. Editors only."""
        return publish("scaleup", run_id, user)

    @api.get("/plans/{run_id}/villages", responses={**errors(404, 422), 200: {
        "content": {"text/csv": {}}, "description": "One row per village: phase, rank, score, coverage"}})
    def plan_villages(run_id: int, user: Annotated[User, Depends(reader)]) -> Response:
        run = stored_plan(run_id)
        table = run.villages.drop(columns=["geom", "run_id"], errors="ignore")
        return Response(table.to_csv(index=False), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="rencana_run_{run_id}_desa.csv"'})

    @api.get("/plans/{run_id}/actions.csv", responses={**errors(404, 422), 200: {
        "content": {"text/csv": {}}, "description": "Actions by agency: one row per action and year"}})
    def plan_actions(run_id: int, user: Annotated[User, Depends(reader)],
                     lang: Annotated[Literal["id", "en"], Query()] = "id") -> Response:
        """The plan's action matrix by agency (Bappeda, Dinas PUPR, DLH, Dinkes, the operator, PDAM),
        with each action's budget line and indicator per year. It exists once the plan's calendar has
        been made (``gis-service scaleup schedule``; the summary's ``rollout`` holds the rest)."""
        run = stored_plan(run_id)
        rollout = run.summary.get("rollout")
        if not rollout:
            raise HTTPException(404, {"message": f"plan {run_id} has no roll-out yet: gis-service scaleup schedule "
                                                 f"--run {run_id} makes it", "field": "run_id"})
        from gis_service.analysis.rollout.store import action_table

        table = action_table(rollout, lang)
        return Response(table.to_csv(index=False), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="aksi_opd_run_{run_id}.csv"'})

    @api.get("/plans/{run_id}/report.html", response_class=FileResponse,
             responses={**errors(404, 422), 200: {"content": {"text/html": {}}, "description": "Meeting report"}})
    def plan_report(run_id: int, user: Annotated[User, Depends(reader)],
                    lang: Annotated[Literal["id", "en"], Query()] = "id",
                    compare: Annotated[list[int] | None, Query(description="Other plans to compare")] = None):
        """The working-group report (maps and charts embedded), Bahasa Indonesia or English, shown
        in the browser (save it from there)."""
        from gis_service.analysis.pilot_evaluation import trial_card
        from gis_service.analysis.rollout.sfd_figure import report_sfd
        from gis_service.analysis.scaleup.report import write_report

        runs = [stored_plan(r) for r in [run_id, *(compare or [])]]
        with engine.connect() as conn:
            trial = trial_card(conn, config_dir=settings.config_dir, calibration=runs[0].calibration)
            sfd = report_sfd(conn, metric=settings.region_config().metric_crs, config_dir=settings.config_dir,
                             lang=lang)
        return _export(f"rencana_run_{run_id}.html", "text/html; charset=utf-8",
                       lambda path: write_report(runs, path, lang=lang, trial=trial, sfd=sfd), inline=True)

    @api.get("/plans/{run_id}/export.gpkg", response_class=FileResponse,
             responses={**errors(404, 422), 200: {"content": {GPKG: {}}, "description": "GeoPackage"}})
    def plan_geopackage(run_id: int, user: Annotated[User, Depends(reader)]):
        """The plan's facilities and villages, styled for QGIS, with requirement and phase tables."""
        from gis_service.api.geopackage import export_plan_geopackage

        run = stored_plan(run_id)
        return _export(f"rencana_run_{run_id}.gpkg", GPKG,
                       lambda path: export_plan_geopackage(engine, run, layers(), targets(), path))

    return api
