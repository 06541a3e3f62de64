"""The web map: ``/map`` serves ``web/index.html``, ``/map/app/`` our scripts and styles, and
``/map/vendor/maplibre-gl/`` MapLibre GL JS from the npm package that ``scripts/bootstrap.sh``
installs into ``web/node_modules`` (never a CDN, so the map works offline). ``/`` leads to the map."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from gis_service.settings import Settings

MAPLIBRE_DIST = "node_modules/maplibre-gl/dist"


def mount_web_map(app: FastAPI, settings: Settings) -> None:
    """Add the map's routes to ``app``; without MapLibre installed, ``/map`` says how to get it."""
    web = settings.web_dir
    vendor = web / MAPLIBRE_DIST

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/map")

    @app.get("/map", include_in_schema=False, response_model=None)
    def web_map() -> FileResponse | HTMLResponse:
        if not (vendor / "maplibre-gl.js").is_file():
            return HTMLResponse(
                "<h1>Peta belum terpasang / web map not installed</h1><p>MapLibre GL JS is missing from "
                f"{vendor}. Run <code>bash scripts/bootstrap.sh</code> (it runs <code>npm ci</code> in "
                "<code>web/</code>), then reload.</p>", status_code=503)
        return FileResponse(web / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    app.mount("/map/app", StaticFiles(directory=web / "app", check_dir=False), name="map-app")
    app.mount("/map/vendor/maplibre-gl", StaticFiles(directory=vendor, check_dir=False), name="maplibre")
