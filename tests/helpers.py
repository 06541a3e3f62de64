"""What the tests share: databases made from a migrated template (the one way a test gets a
database), and builders for small input files."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pandas as pd
import psycopg

TEMPLATE = "gis_template"  # migrated once per session (conftest.pg_cluster)


def admin_connection(cluster) -> psycopg.Connection:
    """An autocommit connection to the cluster's ``postgres`` database, for CREATE/DROP DATABASE."""
    return psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", password=cluster.password(),
                           dbname="postgres", autocommit=True)


def create_database(cluster, *, template: str = TEMPLATE, prefix: str = "t") -> tuple[str, str]:
    """A new database copied from ``template`` (migrated, maybe loaded); returns its name and URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin_connection(cluster) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name, cluster.url(name)


def drop_database(cluster, name: str) -> None:
    with admin_connection(cluster) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def households(n: int, *, x0: float = 112.05, y0: float = -2.9) -> list[dict]:
    """n household rows inside the west test village, with a mix of ladder rungs."""
    rungs = ["aman", "Layak Sendiri", "layak-bersama", "belum layak", "BABS"]
    return [{"id": f"H{i:05d}", "lon": f"{x0 + (i % 100) * 0.001:.6f}", "lat": f"{y0 + (i // 100) * 0.001:.6f}",
             "akses_sanitasi": rungs[i % 5], "tangki_septik": "ya" if i % 5 < 2 else "tidak",
             "jumlah_anggota": str(1 + i % 7)} for i in range(n)]


def load_two_regencies(engine, *, scale: float, shift_m: float = 30_000.0) -> None:
    """A two-regency province for tests of runs that cross regency borders: the demo regency
    (62.07) and a second generated one (another seed), recoded 62.06 and moved ``shift_m`` east,
    so the two overlap and households near either border are in reach of both regencies'
    facilities. The caller points GIS_SERVICE_REGION at a province region ('62')."""
    from gis_service.demo.generator import generate_region
    from gis_service.ingest.config_tables import load_parameter_set, load_targets
    from gis_service.ingest.context import ImportOptions
    from gis_service.ingest.importer import import_frame
    from gis_service.settings import get_settings

    settings = get_settings()
    for seed, code, source in ((6207, "62.07", "demo-seruyan"), (6206, "62.06", "demo-twin")):
        frames = generate_region(seed=seed, scale=scale)
        if code != "62.07":
            frames = {kind: _recode(frame, code, shift_m) for kind, frame in frames.items()
                      if kind != "pilots"}  # the pilot is Seruyan's
            frames["admin"] = frames["admin"][frames["admin"]["level"] != "province"]
        options = ImportOptions(source=source, title=f"generated test region {code}", illustrative=True)
        for kind, frame in frames.items():
            import_frame(engine, kind, frame, options, settings=settings)
    with engine.begin() as conn:
        load_parameter_set(conn, settings.config_dir / "parameters" / "default.yml")
        load_targets(conn, settings.config_dir / "targets.yml")


def _recode(frame, code: str, shift_m: float):
    """A generated frame moved east and recoded from 62.07 to ``code`` (BPS codes kept unique)."""
    frame = frame.copy()
    for column in frame.columns:
        if column == "geometry":
            continue
        values = frame[column]
        if column == "bps_code":
            frame[column] = values.map(lambda v: v if pd.isna(v) else "99" + str(v)[2:])
        elif column in ("source_id", "facility", "feeds"):  # ids unique across both regencies
            frame[column] = values.map(lambda v: v if pd.isna(v) else f"T{v}")
        elif column == "name" and "level" in frame:
            frame.loc[frame["level"] == "regency", "name"] = "Kabupaten Kembar (test)"
        elif values.dtype == object:
            frame[column] = values.map(lambda v: _swap(v, code))
    if hasattr(frame, "geometry") and "geometry" in frame:
        frame = frame.set_geometry(frame.geometry.to_crs(32749).translate(shift_m, 0).to_crs(4326))
    return frame


def _swap(value, code: str):
    if isinstance(value, str) and value.startswith("62.07"):
        return code + value[len("62.07"):]
    if isinstance(value, (list, tuple)):
        return [_swap(v, code) for v in value]
    return value


def page_fits(path) -> tuple[int, int]:
    """How wide an HTML file lays out in headless Chromium: the document's width in a 1,280 px
    window, and printed on A4 (210 mm less 15 mm margins each side: 680 CSS px). A page that fits
    gives (1280, 680)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"file://{path}")
        screen = page.evaluate("document.documentElement.scrollWidth")
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 680, "height": 900})
        printed = page.evaluate("document.documentElement.scrollWidth")
        browser.close()
    return screen, printed
