"""The web map end to end: headless Chromium (Playwright) against the whole application on a real
PostGIS, offline (no basemap). A planner sees the coverage of the stored run drawn in the style's
colours, opens a village and exports a PNG; an editor places a facility on the map and runs the
scenario through the map, and the summary's served households grow by what PostGIS counts
independently; the language switch changes the page. No console error may appear on the way.
One test, one page: every step builds on the one before, and the setup is paid once."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.cli import app as cli
from gis_service.settings import get_settings

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


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No basemap: the map must work without the internet. Autouse fixtures run first, so the
    setting is in place before conftest's ``server`` makes the app."""
    monkeypatch.setenv("GIS_SERVICE_BASEMAP_TILES", "")


@pytest.fixture
def site(server):
    return server.removesuffix("/ogc")


@pytest.fixture
def run_with_gaps(published_region) -> int:
    """The national targets and a coverage run like conftest's (pilot depot, 3 km), which then
    has gaps to the targets, published (the map opens on it); returns its id."""
    from gis_service.analysis.coverage import CoverageOptions, run_coverage
    from gis_service.analysis.publishing import publish
    from gis_service.ingest.config_tables import load_targets

    with published_region.begin() as conn:
        load_targets(conn, get_settings().config_dir / "targets.yml")
    run = run_coverage(published_region, CoverageOptions(method="buffer", distance_m=DISTANCE_M)).run_id
    with published_region.begin() as conn:
        publish(conn, "coverage", run, by="tests")
    return run


@pytest.fixture
def browser_page():
    """A page in headless Chromium and the console errors and uncaught exceptions it reports."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 640}, accept_downloads=True)
        errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        yield page, errors
        browser.close()


def _drawn_after(page, action) -> None:
    """Do ``action`` and wait until the main map has drawn its result: the 'idle' listener is set
    before acting, so the event cannot be missed."""
    page.evaluate("() => { window.drawn = new Promise(done => webMap.main.once('idle', done)); }")
    action()
    page.evaluate("""() => Promise.race([window.drawn, new Promise((_, fail) => setTimeout(
        () => fail(new Error("the map did not finish drawing")), 20000))])""")


def _show_test_villages(page) -> None:
    _drawn_after(page, lambda: page.evaluate("b => { webMap.main.fitBounds(b, {animate: false}); }", TEST_VILLAGES))


def _map_shot(page) -> Image.Image:
    return Image.open(io.BytesIO(page.locator("#map canvas").screenshot()))


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


def _meeting_map(page, folder: Path, name: str) -> Image.Image:
    """Click the meeting map button; the PNG saved, checked to be A4 landscape at 300 dpi."""
    with page.expect_download(timeout=120_000) as download:
        page.click("#export-png")
    assert download.value.suggested_filename == name
    path = folder / name
    download.value.save_as(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(path)
    assert image.size == (3508, 2480) and [round(d) for d in image.info["dpi"]] == [300, 300]
    return image


def _editor_key() -> str:
    out = CliRunner().invoke(cli, ["users", "add", "ed", "--role", "editor"])
    assert out.exit_code == 0, out.output
    return out.stdout.strip().splitlines()[-1]


def test_planners_and_editors_use_the_map(site, published_region, run_with_gaps, browser_page, tmp_path):
    page, errors = browser_page
    engine, base_run = published_region, run_with_gaps
    with engine.connect() as conn:
        village = conn.execute(text(
            "SELECT households, served_households, ladder ->> 'aman' AS aman FROM coverage_area "
            "WHERE run_id = :r AND area_code = :a AND service = 'all'"), {"r": base_run, "a": WEST}).one()
        gaps = conn.execute(text("SELECT count(*) FROM coverage_gap WHERE run_id = :r AND area_code = :a "
                                 "AND gap_households > 0"), {"r": base_run, "a": WEST}).scalar()
    style = httpx.get(f"{site}/styles/maplibre.json?lang=id").json()
    key = _editor_key()
    scenario = httpx.post(f"{site}/api/scenarios", json={"name": "Depo tambahan"},
                          headers={"Authorization": f"Bearer {key}"}).json()  # the pilot depot takes part
    far = httpx.post(f"{site}/api/facilities", headers={"Authorization": f"Bearer {key}"}, json={
        "name": "Depo jauh", "type": "desludging_depot", "lon": 112.35, "lat": -2.7}).json()  # no household near

    # the trial's operation log: two emptyings, one load not received at the IPLT
    from gis_service.ingest.importer import import_file
    from tests.helpers import write_csv

    import_file(engine, "pilots", write_csv(tmp_path / "pilot.csv", [
        {"pilot": "Uji", "period_start": "2026-01-01", "period_end": "2026-01-31", "village_codes": WEST}]))
    import_file(engine, "pilot_events", write_csv(tmp_path / "log.csv", [
        {"event_id": f"E{i}", "nama_pilot": "Uji", "tanggal": "2026-01-05", "status": "selesai", "kode_desa": WEST,
         "no_polisi": "KH 1", "volume_sedot_m3": "3", "volume_diterima_iplt_m3": "3" if i else ""} for i in range(2)]))

    page.goto(f"{site}/map")
    page.wait_for_selector(f'#map[data-run-id="{base_run}"]')
    page.wait_for_selector('[data-testid="regency-served_households-a"]')
    # the trial's scorecard: half the sludge reached the IPLT, poor, with the remedy
    page.wait_for_selector('[data-testid="trial-delivered_share"]', state="attached")
    delivered = page.locator('[data-testid="trial-delivered_share"]')
    assert delivered.locator("td").first.get_attribute("data-value") == "0.5"
    assert delivered.locator("td.score.poor").text_content() == "buruk"
    assert "pembuangan liar" in page.text_content('[data-testid="trial-advice"]')
    assert page.get_attribute('[data-testid="trial-page"]', "href") == "/api/pilot/evaluation.html?pilot=Uji&lang=id"
    assert httpx.get(f"{site}/api/pilot/evaluation.html?lang=id").status_code == 200
    # fitted to the configured region
    config = httpx.get(f"{site}/api/config").json()
    west, south, east, north = page.evaluate("() => webMap.main.getBounds().toArray().flat()")
    w, s, e, n = config["region"]["bbox"]
    assert west <= w + 1e-9 and south <= s + 1e-9 and east >= e - 1e-9 and north >= n - 1e-9
    assert page.text_content("h1") == "Peta Perencanaan Sanitasi"
    assert page.get_attribute("#map .maplibregl-ctrl-zoom-in", "aria-label") == "Perbesar"  # MapLibre's words too
    before = _served(page)
    assert before == village.served_households  # the only households are in the west village
    # a share in the regency table and in the gap table: the same stored number, rounded half up once
    for indicator in ("aman_pct", "layak_pct"):
        cells = page.locator(f'[data-testid^="gap-{indicator}-"][data-testid$="-now"]').all_text_contents()
        assert cells and set(cells) == {page.text_content(f'[data-testid="regency-{indicator}_now-a"]')}

    # the village of the run is drawn in the colour of its class in the server's style
    _show_test_villages(page)
    fill, opacity = _class_of(style, 100 * village.served_households / village.households)
    shot, background = _map_shot(page), _map_background(page)
    area = shot.width * shot.height
    assert _pixels_like(shot, fill, opacity, background) > 0.03 * area

    # the layer list: the style's classes of the run layer in its legend, and a tick hides it
    legend = page.text_content("#layers")
    assert all(layer["metadata"]["label"] in legend
               for layer in style["layers"] if layer["source"] == "coverage_villages")
    # facilities are drawn with their type's marker from the server's sprite (the pilot depot: a
    # blue diamond), and the legend shows the same shapes
    icons = page.evaluate("""() => webMap.main.queryRenderedFeatures({layers: webMap.main.getStyle().layers
        .filter(l => l.source === 'facilities' && l.type === 'symbol').map(l => l.id)})
        .map(f => f.layer.layout['icon-image'])""")
    assert "marker-diamond-2b83ba-232323" in icons
    assert page.locator("#layers svg.marker").count() >= 6 * 4
    run_layer = '#layers input[data-source="run-villages"]'
    _drawn_after(page, lambda: page.uncheck(run_layer))
    assert _pixels_like(_map_shot(page), fill, opacity, background) < 0.001 * area
    _drawn_after(page, lambda: page.check(run_layer))

    # a click on the village opens its numbers and gaps
    x, y = page.evaluate("() => Object.values(webMap.main.project([112.1, -2.7]))")
    page.locator("#map canvas").click(position={"x": x, "y": y})
    popup = page.locator('[data-testid="village-popup"]')
    popup.wait_for()
    assert popup.locator("h3").text_content() == "Desa Barat"
    assert popup.locator(f'[data-testid="popup-households-{base_run}"]').text_content() == str(village.households)
    assert popup.locator(f'[data-testid="popup-served_households-{base_run}"]').text_content() == str(
        village.served_households)
    assert popup.locator('[data-testid="popup-rung-aman"] td').first.get_attribute("data-value") == village.aman
    # the ladder's rows are disjoint: now and projected, they add up to the village's households
    for column in (0, 1):
        rungs = [int(row.locator("td").nth(column).get_attribute("data-value"))
                 for row in popup.locator('[data-testid^="popup-rung-"]').all()]
        assert sum(rungs) == village.households, rungs
    assert popup.locator('[data-testid="popup-ladder-total"]').get_attribute("data-value") == str(village.households)
    # the share in the popup and in the regency table: the same stored number, rounded half up once
    assert popup.locator(f'[data-testid="popup-coverage_pct-{base_run}"]').text_content() == page.text_content(
        '[data-testid="regency-coverage_pct-a"]')
    assert gaps > 0 and popup.locator('[data-testid="popup-gaps"] li').count() == gaps
    years = [int(re.search(r" (\d{4}):", item).group(1))
             for item in popup.locator('[data-testid="popup-gaps"] li').all_inner_texts()]
    assert years == sorted(years)  # by target year, the nearest first
    page.keyboard.press("Escape")  # closes the popup

    # the meeting map: an A4 landscape PNG at 300 dpi naming the regency and the run, the
    # choropleth in it (drawn over white), a title drawn above the map
    image = _meeting_map(page, tmp_path, f"peta-sanitasi-run-{base_run}-A4.png")
    assert "Kabupaten Uji" in image.info["Title"] and f"#{base_run} " in image.info["Title"]
    assert _pixels_like(image, fill, opacity, (255, 255, 255)) > 0.03 * area
    title_band = np.asarray(image.convert("L"))[100:330, 100:2000]
    assert (title_band < 80).mean() > 0.01  # dark ink of the title lines
    links = page.locator('[data-testid="meeting-links"]')
    assert links.locator('[data-testid="qgis-link"]').get_attribute("href") == "/project.qgs"
    assert links.locator("a", has_text=f"run #{base_run}").get_attribute("href") == \
        f"/api/runs/{base_run}/villages?f=csv&lang=id"

    # an editor signs in with a key (after a mistyped one, whose refusal then goes) and places a
    # depot with a click on the map
    page.fill("#api-key", "gs_not-a-key")
    page.click("#api-key-apply")
    page.wait_for_selector('#message[data-kind="error"]')
    page.fill("#api-key", key)
    page.click("#api-key-apply")
    page.wait_for_selector("#edit-tools:not([disabled])")
    assert "ed (editor)" in page.text_content("#user")
    assert page.locator("#message").is_hidden()
    page.select_option("#scenario-select", str(scenario["id"]))
    # a facility saved earlier, in no scenario, joins it from the list of saved facilities
    page.select_option("#existing-facility", str(far["id"]))
    page.click("#add-existing")
    page.wait_for_function("() => document.getElementById('message').textContent.includes('Depo jauh')")
    assert far["id"] in httpx.get(f"{site}/api/scenarios/{scenario['id']}").json()["facility_ids"]
    page.click("#add-facility")
    # typed coordinates the wrong way round: said next to the field, in the UI's language
    page.fill("#facility-lon", str(NEW_DEPOT[1]))
    page.fill("#facility-lat", str(NEW_DEPOT[0]))
    page.click("#facility-save")
    assert "tertukar" in page.text_content("#facility-lon-error")
    assert page.get_attribute("#facility-lon", "aria-invalid") == "true"
    x, y = page.evaluate("p => Object.values(webMap.main.project(p))", list(NEW_DEPOT))
    page.locator("#map canvas").click(position={"x": x, "y": y})  # a click puts the coordinates in
    assert abs(float(page.input_value("#facility-lon")) - NEW_DEPOT[0]) < 0.01
    page.select_option("#facility-type", "desludging_depot")
    # no name, and a capacity without its unit: each said under its field, nothing sent
    page.fill("#facility-capacity", "5")
    page.click("#facility-save")
    assert page.text_content("#facility-name-error") == "Isi nama fasilitas."
    assert page.text_content("#facility-unit-error") == "Pilih satuan kapasitas."
    assert page.locator("#facility-lon-error").is_hidden() and page.get_attribute("#message", "data-kind") != "error"
    assert [e.split("status of ")[1][:3] for e in errors] == ["401"]  # the browser logs the refused sign-in
    errors.clear()
    page.fill("#facility-name", "Depo baru dari peta")
    page.fill("#facility-capacity", "")  # no capacity: it does not bind, every household in reach is served
    page.click("#facility-save")
    page.wait_for_function("() => document.getElementById('message').textContent.includes('Depo baru dari peta')")
    assert "Depo baru dari peta" in page.text_content("#edits")
    facility = next(f for f in httpx.get(f"{site}/api/facilities").json() if f["name"] == "Depo baru dari peta")
    assert facility["id"] in httpx.get(f"{site}/api/scenarios/{scenario['id']}").json()["facility_ids"]

    # what the new depot should add, counted by PostGIS: households within the radius of it and
    # not of the pilot depot (the base run's only facility)
    srid = int(get_settings().region_config().metric_crs.split(":")[1])  # where coverage measures distance
    with engine.connect() as conn:
        gain, served_by_depot = conn.execute(text(
            "SELECT count(*) FILTER (WHERE ST_DWithin(h.g, new.g, :d) AND NOT ST_DWithin(h.g, pilot.g, :d)), "
            "       count(*) FILTER (WHERE ST_DWithin(h.g, pilot.g, :d)) "
            "FROM (SELECT ST_Transform(geom, :crs) AS g FROM household) h, "
            "     (SELECT ST_Transform(geom, :crs) AS g FROM facility WHERE id = :new) new, "
            "     (SELECT ST_Transform(geom, :crs) AS g FROM facility WHERE source_id = 'D1') pilot"),
            {"crs": srid, "d": DISTANCE_M, "new": facility["id"]}).one()
    assert before == served_by_depot and gain > 0

    # run the scenario from the map and follow the job; the new run is then shown
    page.select_option("#method-select", "buffer")
    page.fill("#distance-m", str(DISTANCE_M))
    page.click("#run-scenario")
    page.wait_for_selector("#job-progress:not([hidden])")
    page.wait_for_selector('#job-status[data-status="succeeded"]', timeout=60_000)
    new_run = int(page.input_value("#run-select"))
    assert new_run != base_run
    page.wait_for_selector(f'#map[data-run-id="{new_run}"]')
    page.wait_for_function(f"() => document.querySelector('#summary th.n').textContent === '#{new_run}'")
    assert _served(page) == before + gain
    # what the run changed against the run before it: the gain, in the one village
    changes = page.text_content('[data-testid="changes-line"]')
    assert f"#{base_run}" in page.text_content('[data-testid="changes"]')
    assert f"(+{gain})" in changes and "1 desa bertambah" in changes, changes
    # ... and names the facility that serves nobody, with the reason
    assert page.text_content('[data-testid="idle-facilities"]') == \
        "“Depo jauh” (Depo sedot tinja) tidak melayani siapa pun: tidak ada rumah tangga dalam jangkauan 3000 m."
    # every run has its own label (scenario, method, facility count, time)
    labels = page.locator("#run-select option").all_inner_texts()
    assert len(set(labels)) == len(labels) and "3 fasilitas" in labels[0], labels
    # the village list finds a village by name and opens the same popup as a click
    page.fill("#village-search", "desa barat")
    page.press("#village-search", "Enter")
    popup.wait_for()
    assert popup.locator(f'[data-testid="popup-served_households-{new_run}"]').get_attribute("data-value") == str(
        before + gain)
    page.keyboard.press("Escape")

    # the village's colour follows its new class
    old_class = _class_of(style, 100 * before / village.households)
    new_class = _class_of(style, 100 * (before + gain) / village.households)
    assert new_class != old_class  # the depot was placed so that the class changes
    shot = _map_shot(page)
    assert _pixels_like(shot, *new_class, background) > 0.03 * area
    assert _pixels_like(shot, *old_class, background) < 0.001 * area

    # compared with the base run side by side: the difference is the gain, the maps move together
    page.select_option("#compare-select", str(base_run))
    page.wait_for_selector(f'#map-compare[data-run-id="{base_run}"]')
    page.wait_for_selector('[data-testid="regency-served_households-diff"]')
    assert _served(page, "regency-served_households-diff") == gain
    assert _served(page, "regency-served_households-b") == before
    shares = page.text_content('[data-testid="regency-coverage_pct-diff"]')
    assert shares.startswith("+") and shares.endswith(" poin")  # a difference of shares: percentage points
    # the change map: on the main map, each village in the class of its difference A − B
    shown_a, shown_b = (float(page.text_content(f'[data-testid="regency-coverage_pct-{x}"]').split()[0].replace(",", "."))
                        for x in "ab")
    change_class = "#67a9cf" if 0 < shown_a - shown_b <= 5 else "#2166ac"
    assert f"{change_class}" in page.evaluate("() => JSON.stringify(webMap.main.getStyle().layers)")
    _drawn_after(page, lambda: page.check('#layers input[data-source="run-change"]'))
    rgb = tuple(int(change_class[i:i + 2], 16) for i in (1, 3, 5))
    a_fill, a_opacity = new_class  # run A's class, drawn under the change map
    under = tuple(a_opacity * np.array(a_fill) + (1 - a_opacity) * np.array(background))
    assert _pixels_like(_map_shot(page), rgb, 0.85, under) > 0.03 * area
    _drawn_after(page, lambda: page.uncheck('#layers input[data-source="run-change"]'))
    # the district and ladder tables have their differences too, and nothing needs a sideways scroll
    assert page.locator('#summary [data-testid^="district-"][data-testid$="-diff"]').count() > 0
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(200)
    wide = page.evaluate("""() => [...document.querySelectorAll('#summary .table-scroll')]
        .filter(t => t.scrollWidth > t.clientWidth + 1).map(t => [t.textContent.slice(0, 40), t.scrollWidth, t.clientWidth])""")
    assert wide == []
    # downloads for both runs, the Excel table in the UI's language
    assert page.locator(f'[data-testid="csv-{new_run}"]').get_attribute("href").endswith("lang=id")
    assert page.locator(f'[data-testid="csv-{base_run}"]').count() == 1
    # the meeting map of the comparison names both runs
    _meeting_map(page, tmp_path, f"peta-sanitasi-run-{new_run}-vs-{base_run}-A4.png")
    # the village popup shows both runs
    x, y = page.evaluate("() => Object.values(webMap.main.project([112.1, -2.7]))")
    page.locator("#map canvas").click(position={"x": x, "y": y})
    popup.wait_for()
    assert popup.locator(f'[data-testid="popup-served_households-{new_run}"]').get_attribute("data-value") == str(
        before + gain)
    assert popup.locator(f'[data-testid="popup-served_households-{base_run}"]').get_attribute("data-value") == str(
        before)
    page.keyboard.press("Escape")
    # at 768 px the panel goes below the maps; a popup on a half-width map stays inside that map
    page.set_viewport_size({"width": 768, "height": 1000})
    page.evaluate("() => { webMap.main.resize(); webMap.compare.resize(); }")
    x, y = page.evaluate("() => Object.values(webMap.main.project([112.1, -2.7]))")
    page.locator("#map canvas").click(position={"x": x, "y": y})
    popup.wait_for()
    card, frame = page.locator(".maplibregl-popup").bounding_box(), page.locator("#map").bounding_box()
    assert frame["width"] < 400 and card["x"] >= frame["x"] - 1 and card["x"] + card["width"] <= frame["x"] + frame["width"] + 1
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 1024, "height": 640})
    page.evaluate("() => webMap.main.panBy([40, 0], {animate: false})")
    assert page.evaluate("() => webMap.compare.getCenter().toArray()") == page.evaluate(
        "() => webMap.main.getCenter().toArray()")

    # the edit log undoes the placement
    create = httpx.get(f"{site}/api/edits?facility_id={facility['id']}").json()[0]
    page.click(f'#edits button[data-edit="{create["id"]}"]')
    page.wait_for_function(f"() => document.getElementById('message').textContent.includes('#{create['id']}')")
    assert page.text_content("#message") == f"Diurungkan: menambah “Depo baru dari peta” (perubahan #{create['id']})."
    assert httpx.get(f"{site}/api/facilities/{facility['id']}").status_code == 404

    # English: the page, the run list, the summary and the server's layer names; kept on reload
    page.select_option("#lang", "en")
    page.wait_for_function("() => document.querySelector('h1').textContent === 'Sanitation Planning Map'")
    english = httpx.get(f"{site}/styles/maplibre.json?lang=en").json()
    facilities = next(layer["metadata"]["group"] for layer in english["layers"] if layer["source"] == "facilities")
    page.wait_for_function("t => document.getElementById('layers').textContent.includes(t)", arg=facilities)
    assert "Straight-line distance" in page.text_content("#run-select")
    assert "Households served" in page.text_content("#summary")
    page.wait_for_selector('#map .maplibregl-ctrl-zoom-in[aria-label="Zoom in"]')
    page.reload()
    page.wait_for_selector('[data-testid="regency-served_households-a"]')
    assert page.text_content("h1") == "Sanitation Planning Map" and page.get_attribute("html", "lang") == "en"
    assert errors == []


def _service_area_runs(page, view: str) -> set[int]:
    """The runs whose service areas the pane ``view`` ('main' or 'compare') draws now."""
    return set(page.evaluate(f"""() => {{
        const map = webMap.{view};
        const ids = map.getStyle().layers.filter(l => l.source === 'service_areas_all_runs').map(l => l.id);
        return map.queryRenderedFeatures({{layers: ids}}).map(f => f.properties.run_id);
    }}"""))


def test_every_run_layer_shows_the_run_of_its_pane(site, published_region, browser_page):
    """Two runs with service areas of different radii: each pane draws the service areas of its own
    run (the published-run layer gives way to the every-run layer filtered to the pane's run), and
    choosing an older run changes what is drawn. Facilities and the plan say they are not per run."""
    from gis_service.analysis.coverage import CoverageOptions, run_coverage

    page, errors = browser_page
    with published_region.connect() as conn:
        published = conn.execute(text("SELECT id FROM coverage_run WHERE published_at IS NOT NULL")).scalar_one()
    wide = run_coverage(published_region, CoverageOptions(method="buffer", distance_m=9000)).run_id
    page.goto(f"{site}/map")
    page.wait_for_selector(f'#map[data-run-id="{published}"]')  # the published run, not the newest
    style = page.evaluate("() => webMap.main.getStyle().layers.map(l => [l.source, l.layout?.visibility])")
    assert not any(source == "service_areas" for source, _ in style)  # the published-run layer is replaced
    assert ("service_areas_all_runs", "visible") in [tuple(s) for s in style]
    _show_test_villages(page)
    assert _service_area_runs(page, "main") == {published}
    page.select_option("#run-select", str(wide))
    page.wait_for_selector(f'#map[data-run-id="{wide}"]')
    assert _service_area_runs(page, "main") == {wide}
    page.select_option("#compare-select", str(published))
    page.wait_for_selector(f'#map-compare[data-run-id="{published}"]')
    assert _service_area_runs(page, "compare") == {published} and _service_area_runs(page, "main") == {wide}
    names = page.locator("#layers").inner_text()
    assert "Fasilitas" in names and "keadaan sekarang, bukan per run" in names
    assert errors == []


@pytest.fixture
def unreachable_basemap(monkeypatch):
    """A basemap whose tiles never come (nothing listens on the port): set before ``site`` makes the app."""
    from gis_service.db.cluster import free_port

    monkeypatch.setenv("GIS_SERVICE_BASEMAP_TILES", f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png")


def test_the_basemap_notice_can_be_closed_and_never_covers_a_popup(unreachable_basemap, site, published_region,
                                                                   browser_page):
    page, errors = browser_page
    page.goto(f"{site}/map")
    page.wait_for_selector("#notice:not([hidden])", timeout=30_000)
    assert "Peta dasar tidak dapat dimuat" in page.text_content("#notice")
    _show_test_villages(page)
    x, y = page.evaluate("() => Object.values(webMap.main.project([112.1, -2.7]))")
    page.mouse.click(x, y)  # the west village: its popup opens
    popup = page.locator(".maplibregl-popup")
    popup.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('.maplibregl-popup').getBoundingClientRect().height > 50")
    notice = page.locator("#notice").bounding_box()
    centre = [notice["x"] + notice["width"] / 2, notice["y"] + notice["height"] / 2]
    # move the map so that the middle of the popup's card sits where the middle of the notice is
    card = page.locator(".maplibregl-popup-content").bounding_box()
    middle = [card["x"] + card["width"] / 2, card["y"] + card["height"] / 2]
    _drawn_after(page, lambda: page.evaluate("""([x, y, cx, cy]) => {
        webMap.main.panBy([x - cx, y - cy], {animate: false}); }""", [*middle, *centre]))
    on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('.maplibregl-popup') !== null", centre)
    assert on_top  # where the two meet, the popup is on top
    page.keyboard.press("Escape")  # closes the popup
    page.click("#notice-close")
    assert page.locator("#notice").is_hidden()
    _drawn_after(page, lambda: page.evaluate("() => webMap.main.panBy([60, 0], {animate: false})"))
    assert page.locator("#notice").is_hidden()  # more failed tiles do not bring it back
    assert page.get_attribute("#notice-close", "aria-label") == "Tutup pemberitahuan"
    assert [e for e in errors if "ERR_CONNECTION_REFUSED" not in e] == []  # the browser's own line per tile
