"""The web map end to end: headless Chromium (Playwright) against the whole application on a real
PostGIS, offline (no basemap). A planner sees the coverage of the stored run drawn in the style's
colours, opens a village, switches the language and exports a PNG; an editor places a facility
on the map, runs the scenario through the map, and the summary's served households grow by what
PostGIS counts independently. No console error may appear on the way."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.cli import app as cli

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"no Chromium at {CHROMIUM} (Debian package chromium)")
sync_playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic",
        "--enable-unsafe-swiftshader"]  # WebGL in software: MapLibre needs it, the machine has no GPU
TEST_VILLAGES = [[112.0, -3.0], [112.4, -2.6]]  # conftest's two villages; the region bbox is all Seruyan
WEST = "62.07.01.2001"  # the village with the 300 households (lon 112.05-112.149, lat -2.9 to -2.898)
NEW_DEPOT = (112.15, -2.899)  # east end of the households, beyond the pilot depot's 3 km (it is at 112.10)
DISTANCE_M = 3000  # the radius of conftest's stored run
METRIC_CRS = 32749


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No basemap: the map must work without the internet. Autouse fixtures run first, so the
    setting is in place before conftest's ``server`` makes the app."""
    monkeypatch.setenv("GIS_SERVICE_BASEMAP_TILES", "")


@pytest.fixture
def site(server):
    return server.removesuffix("/ogc")


@pytest.fixture
def browser_page():
    """A page in headless Chromium and the console errors and uncaught exceptions it reports."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        yield page, errors
        browser.close()


def _open(page, site: str, run_id: int) -> None:
    page.goto(f"{site}/map")
    page.wait_for_selector(f'#map[data-run-id="{run_id}"]')
    page.wait_for_selector('[data-testid="regency-served_households-a"]')


def _show_test_villages(page) -> None:
    page.evaluate("v => webMap.main.fitBounds(v, {animate: false})", TEST_VILLAGES)
    page.evaluate("() => new Promise(done => webMap.main.once('idle', done))")


def _class_of(style: dict, value: float) -> tuple[tuple[int, int, int], float]:
    """The fill colour and opacity the style's coverage_villages classes give ``value``."""
    def holds(f) -> bool:
        op, *args = f
        if op in ("all", "any"):
            return (all if op == "all" else any)(holds(a) for a in args)
        if op == "!":
            return not holds(args[0])
        bound = args[1]
        return {"<": value < bound, ">=": value >= bound, "==": value == bound}[op]

    for layer in style["layers"]:
        if layer["source"] == "coverage_villages" and layer["type"] == "fill" and holds(layer["filter"]):
            colour = layer["paint"]["fill-color"].lstrip("#")
            return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4)), layer["paint"]["fill-opacity"]
    raise AssertionError(f"no class for {value}")


def _pixels_like(image: Image.Image, fill, opacity: float, under, tolerance: int = 10) -> int:
    """Pixels of ``image`` showing ``fill`` drawn at ``opacity`` over ``under``."""
    want = opacity * np.array(fill) + (1 - opacity) * np.array(under)
    rgb = np.asarray(image.convert("RGB"), dtype=float)
    return int((np.abs(rgb - want).max(axis=2) <= tolerance).sum())


def _map_background(page) -> tuple[int, ...]:
    css = page.evaluate("() => getComputedStyle(document.getElementById('map')).backgroundColor")
    return tuple(int(n) for n in re.findall(r"\d+", css)[:3])


def _served(page, testid: str = "regency-served_households-a") -> int:
    return int(page.get_attribute(f'[data-testid="{testid}"]', "data-value"))


def _editor_key() -> str:
    out = CliRunner().invoke(cli, ["users", "add", "ed", "--role", "editor"])
    assert out.exit_code == 0, out.output
    return out.stdout.strip().splitlines()[-1]


def test_a_planner_sees_the_run_opens_a_village_switches_language_and_exports(site, published_region,
                                                                             browser_page, tmp_path):
    page, errors = browser_page
    engine = published_region
    with engine.connect() as conn:
        run_id = conn.execute(text("SELECT max(id) FROM coverage_run")).scalar()
        village = conn.execute(text(
            "SELECT households, served_households, ladder ->> 'aman' AS aman FROM coverage_area "
            "WHERE run_id = :r AND area_code = :a AND service = 'all'"), {"r": run_id, "a": WEST}).one()
        gaps = conn.execute(text("SELECT count(*) FROM coverage_gap WHERE run_id = :r AND area_code = :a "
                                 "AND gap_households > 0"), {"r": run_id, "a": WEST}).scalar()
    style = httpx.get(f"{site}/styles/maplibre.json?lang=id").json()

    _open(page, site, run_id)
    # fitted to the configured region
    config = httpx.get(f"{site}/api/config").json()
    west, south, east, north = page.evaluate("() => webMap.main.getBounds().toArray().flat()")
    w, s, e, n = config["region"]["bbox"]
    assert west <= w + 1e-9 and south <= s + 1e-9 and east >= e - 1e-9 and north >= n - 1e-9
    assert page.text_content("h1") == "Peta Perencanaan Sanitasi"
    assert _served(page) == village.served_households  # the only households are in the west village

    # the village of the run is drawn in the colour of its class in the server's style
    _show_test_villages(page)
    fill, opacity = _class_of(style, 100 * village.served_households / village.households)
    shot = Image.open(io.BytesIO(page.locator("#map canvas").screenshot()))
    assert _pixels_like(shot, fill, opacity, _map_background(page)) > 0.03 * shot.width * shot.height

    # a click on the village opens its numbers and gaps
    x, y = page.evaluate("() => Object.values(webMap.main.project([112.1, -2.7]))")
    page.locator("#map canvas").click(position={"x": x, "y": y})
    popup = page.locator('[data-testid="village-popup"]')
    popup.wait_for()
    assert popup.locator("h3").text_content() == "Desa Barat"
    assert popup.locator('[data-testid="popup-households"]').text_content() == str(village.households)
    assert popup.locator('[data-testid="popup-served"]').text_content() == str(village.served_households)
    assert popup.locator("tbody tr").first.locator("td").first.get_attribute("data-value") == village.aman
    assert gaps > 0 and popup.locator('[data-testid="popup-gaps"] li').count() == gaps

    # the PNG export: a real PNG of the map, the choropleth in it (drawn over white)
    with page.expect_download() as download:
        page.click("#export-png")
    png = tmp_path / "map.png"
    download.value.save_as(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(png)
    assert image.width >= shot.width and image.height > shot.height  # the map under a title
    assert _pixels_like(image, fill, opacity, (255, 255, 255)) > 0.03 * shot.width * shot.height

    # English: the page, the run list and the server's layer names; remembered on reload
    page.select_option("#lang", "en")
    page.wait_for_function("() => document.querySelector('h1').textContent === 'Sanitation Planning Map'")
    english = httpx.get(f"{site}/styles/maplibre.json?lang=en").json()
    facilities = next(layer["metadata"]["group"] for layer in english["layers"] if layer["source"] == "facilities")
    page.wait_for_function("t => document.getElementById('layers').textContent.includes(t)", arg=facilities)
    assert "Straight-line distance" in page.text_content("#run-select")
    assert "Households served" in page.text_content("#summary")
    page.reload()
    page.wait_for_selector('[data-testid="regency-served_households-a"]')
    assert page.text_content("h1") == "Sanitation Planning Map" and page.get_attribute("html", "lang") == "en"
    assert errors == []


def test_an_editor_adds_a_facility_on_the_map_and_runs_the_scenario(site, published_region, browser_page):
    page, errors = browser_page
    engine = published_region
    key = _editor_key()
    auth = {"Authorization": f"Bearer {key}"}
    scenario = httpx.post(f"{site}/api/scenarios", json={"name": "Depo tambahan"}, headers=auth).json()
    with engine.connect() as conn:
        base_run = conn.execute(text("SELECT max(id) FROM coverage_run")).scalar()
    style = httpx.get(f"{site}/styles/maplibre.json?lang=id").json()

    _open(page, site, base_run)
    before = _served(page)
    page.fill("#api-key", key)
    page.click("#api-key-apply")
    page.wait_for_selector("#edit-tools:not([disabled])")
    assert "ed (editor)" in page.text_content("#user")
    page.select_option("#scenario-select", str(scenario["id"]))

    # place a depot with a click on the map
    _show_test_villages(page)
    page.click("#add-facility")
    x, y = page.evaluate("p => Object.values(webMap.main.project(p))", list(NEW_DEPOT))
    page.locator("#map canvas").click(position={"x": x, "y": y})
    page.fill("#facility-name", "Depo baru dari peta")
    page.select_option("#facility-type", "desludging_depot")
    # a capacity without its unit: the API's refusal is shown in plain words, naming the field
    page.fill("#facility-capacity", "5")
    page.click("#facility-save")
    page.wait_for_selector('#message[data-kind="error"]')
    assert "capacity_unit" in page.text_content("#message")
    assert len(errors) == 1 and "422" in errors.pop()  # the browser logs the refused request
    page.fill("#facility-capacity", "")  # no capacity: it does not bind, every household in reach is served
    page.click("#facility-save")
    page.wait_for_function("() => document.getElementById('message').textContent.includes('Depo tambahan')")
    assert "Depo baru dari peta" in page.text_content("#edits")
    facility = next(f for f in httpx.get(f"{site}/api/facilities").json() if f["name"] == "Depo baru dari peta")
    assert facility["id"] in httpx.get(f"{site}/api/scenarios/{scenario['id']}").json()["facility_ids"]

    # what the new depot should add, counted by PostGIS: households within the radius of it and
    # not of the pilot depot (the stored run's only facility)
    with engine.connect() as conn:
        near = ("ST_DWithin(ST_Transform(h.geom, :crs), ST_Transform((SELECT geom FROM facility WHERE id = :f), :crs), "
                ":d)")
        depot = conn.execute(text("SELECT id FROM facility WHERE source_id = 'D1'")).scalar()
        args = {"crs": METRIC_CRS, "d": DISTANCE_M}
        served_by_depot = conn.execute(text(f"SELECT count(*) FROM household h WHERE {near}"),
                                       {**args, "f": depot}).scalar()
        gain = conn.execute(text(f"SELECT count(*) FROM household h WHERE {near} AND NOT "
                                 f"{near.replace(':f', ':depot')}"), {**args, "f": facility["id"], "depot": depot}).scalar()
    assert before == served_by_depot and gain > 0

    # run the scenario from the map and follow the job
    page.select_option("#method-select", "buffer")
    page.fill("#distance-m", str(DISTANCE_M))
    started = time.monotonic()
    page.click("#run-scenario")
    page.wait_for_selector("#job-progress:not([hidden])")
    page.wait_for_selector('#job-status[data-status="succeeded"]', timeout=60_000)
    new_run = int(page.input_value("#run-select"))
    assert new_run != base_run
    page.wait_for_selector(f'#map[data-run-id="{new_run}"]')
    page.wait_for_function(f"() => document.querySelector('#summary th.n').textContent === '#{new_run}'")
    assert _served(page) == before + gain, f"ran in {time.monotonic() - started:.1f} s"

    # the village's colour follows its new class
    households = 300
    old_class = _class_of(style, 100 * before / households)
    new_class = _class_of(style, 100 * (before + gain) / households)
    assert new_class != old_class  # the depot was placed so that the class changes
    _show_test_villages(page)
    shot = Image.open(io.BytesIO(page.locator("#map canvas").screenshot()))
    background = _map_background(page)
    assert _pixels_like(shot, *new_class, background) > 0.03 * shot.width * shot.height
    assert _pixels_like(shot, *old_class, background) < 0.001 * shot.width * shot.height

    # compared with the stored run side by side: the difference is the gain
    page.select_option("#compare-select", str(base_run))
    page.wait_for_selector(f'#map-compare[data-run-id="{base_run}"]')
    page.wait_for_selector('[data-testid="regency-served_households-diff"]')
    assert _served(page, "regency-served_households-diff") == gain
    assert _served(page, "regency-served_households-b") == before
    page.evaluate("() => webMap.main.panBy([40, 0], {animate: false})")
    assert page.evaluate("() => webMap.compare.getCenter().toArray()") == page.evaluate(
        "() => webMap.main.getCenter().toArray()")

    # the edit log undoes the placement
    create = httpx.get(f"{site}/api/edits?facility_id={facility['id']}").json()[0]
    page.click(f'#edits button[data-edit="{create["id"]}"]')
    page.wait_for_function(f"() => document.getElementById('message').textContent.includes('#{create['id']}')")
    assert httpx.get(f"{site}/api/facilities/{facility['id']}").status_code == 404
    assert errors == []

