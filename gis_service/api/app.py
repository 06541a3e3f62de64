"""The FastAPI application: pygeoapi mounted at /ogc for the OGC APIs, our routes beside it
(styles, TileJSON, the MapLibre style and the QGIS project: ``clients.py``), health and
readiness checks, and one JSON log line per request."""

from __future__ import annotations

import json
import logging
import time

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gis_service import __version__
from gis_service.api.clients import router as clients_router
from gis_service.api.hot_paths import HotPaths
from gis_service.api.layers import load_layers
from gis_service.api.ogc import DEFAULT_ITEMS, MAX_ITEMS, MOUNT, ogc_app
from gis_service.api.jobs import router as jobs_router
from gis_service.api.facilities import router as planning_router
from gis_service.api.results import router as results_router
from gis_service.api.scenarios import edits_router as scenario_edits_router
from gis_service.api.security import Guard
from gis_service.api.scenarios import router as scenarios_router
from gis_service.api.web import mount_web_map
from gis_service.db.engine import database_url, make_serving_engine
from gis_service.db.roles import serving_urls
from gis_service.settings import Settings, get_settings

log = logging.getLogger("gis_service.api")


def create_app(settings: Settings | None = None, *, base_url: str = "http://127.0.0.1:8000") -> FastAPI:
    settings = settings or get_settings()
    urls = serving_urls(settings, database_url(settings))  # one role each, never a superuser
    engine = make_serving_engine(urls.web, statement_timeout_s=settings.statement_timeout_s)
    app = FastAPI(title="gis-service", version=__version__,
                  description="Sanitation coverage and scale-up planning: OGC APIs under /ogc")

    @app.get("/health", tags=["service"])
    def health() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["service"])
    def ready() -> JSONResponse:
        """Readiness: the database answers and its schema is migrated."""
        try:
            with engine.connect() as conn:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception as exc:  # any database failure means not ready
            return JSONResponse({"status": "unavailable", "reason": str(exc).splitlines()[0]}, 503)
        return JSONResponse({"status": "ready", "schema": revision})

    app.add_middleware(AccessLog)
    app.add_middleware(Guard, settings=settings, engine=engine)  # inside CORS: refusals carry its headers
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "If-Match", "Content-Type"],
                           expose_headers=["ETag", "Location"])
    app.include_router(planning_router(settings, engine))
    app.include_router(scenarios_router(settings, engine))
    app.include_router(scenario_edits_router(settings, engine))
    app.include_router(jobs_router(settings, engine, worker_url=urls.worker))
    app.include_router(results_router(settings, engine))
    mount_web_map(app, settings)
    app.include_router(clients_router(settings, engine, base_url=base_url, ogc_url=base_url.rstrip("/") + MOUNT))
    ogc, config = ogc_app(settings, base_url=base_url, urls=urls)
    if settings.api_hot_paths:
        layers = load_layers(settings.layers_dir, include_sensitive=settings.publish_household_points)
        tiles = {layer.id: provider for layer in layers for provider in config["resources"][layer.id]["providers"]
                 if provider["type"] == "tile"}
        ogc = HotPaths(ogc, layers, engine, tiles, ogc_url=base_url.rstrip("/") + MOUNT,
                       default_limit=DEFAULT_ITEMS, max_limit=MAX_ITEMS, count_limit=settings.api_count_limit)
    app.mount(MOUNT, ogc)
    app.state.database_urls = urls
    return app


class AccessLog:
    """One JSON line per HTTP request: method, path, query, status and milliseconds until the
    response started. Plain ASGI: Starlette's ``@app.middleware("http")`` re-streams every
    response through a memory channel, which cost about a millisecond a request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        logged = False

        def log_line(status: int) -> None:
            nonlocal logged
            logged = True
            log.info(json.dumps({"method": scope["method"], "path": scope["path"],
                                 "query": scope.get("query_string", b"").decode("latin-1"),
                                 "status": status, "ms": round(1000 * (time.perf_counter() - start), 1)}))

        async def send_and_log(message):
            if message["type"] == "http.response.start":
                log_line(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_log)
        except Exception:
            if not logged:  # failed before answering: the server's error handler answers 500
                log_line(500)
            raise
