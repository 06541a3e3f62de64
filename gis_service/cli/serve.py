"""``gis-service serve``: the web map, the planning API and the OGC APIs under uvicorn."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from gis_service.cli.common import app, console, fail
from gis_service.settings import get_settings


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    base_url: Annotated[Optional[str], typer.Option(help="Public URL of the service, if behind a proxy "
                                                         "(default http://HOST:PORT)")] = None,
) -> None:
    """Serve the web map (/map), the planning API (/api, /docs) and the OGC APIs (pygeoapi at /ogc)
    with uvicorn."""
    import logging

    import uvicorn

    from gis_service import job_queue
    from gis_service.api.app import create_app
    from gis_service.db.roles import RoleError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        app = create_app(base_url=base_url or f"http://{host}:{port}")
    except RoleError as exc:
        fail(str(exc))
    settings = get_settings()
    urls = app.state.database_urls
    job_queue.ensure_workers(settings.max_jobs, urls.worker)  # warm, so the first job starts at once
    url = (base_url or f"http://{host}:{port}").rstrip("/")
    console.print(f"serving on {url}: web map {url}/map, planning API {url}/docs, OGC API {url}/ogc")
    # keep idle connections 30 s (uvicorn's 5 s races clients that reuse them, e.g. map viewers)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_keep_alive=30)
