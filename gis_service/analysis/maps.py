"""The two maps a Buku Putih Sanitasi needs for each sub-sector (docs/domain.md §1), drawn from a
stored coverage run: the service coverage map (peta cakupan layanan) and the map of main
infrastructure (peta infrastruktur utama), as PNG files.

They are drawn on matplotlib's Agg canvas, without pyplot or a display, so they can be rendered on a
server. The maps use the region's metric CRS so that the scale bar is true. PostGIS simplifies
geometry to half a pixel before it is read, and it groups network edges by mode, so that a
province-size run (300k edges) renders in seconds. A PNG cannot show finer detail than that anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.patheffects import withStroke
from sqlalchemy import Connection, text

# Every text printed on the maps, so they can be translated in one place.
LABELS: dict[str, str] = {
    "coverage_title": "Peta Cakupan Layanan Air Limbah Domestik",
    "coverage_title_en": "Domestic wastewater service coverage",
    "infrastructure_title": "Peta Infrastruktur Utama Air Limbah Domestik",
    "infrastructure_title_en": "Domestic wastewater main infrastructure",
    "subtitle": "{region}  ·  Skenario: {scenario}  ·  Run {run_id}  ·  {date}",
    "stamp": "ILUSTRATIF – data demo, bukan data resmi",
    "north": "U",
    "km": "km",
    "coverage_header": "Rumah tangga terlayani (semua layanan)",
    "no_households": "Tidak ada rumah tangga",
    "bands_header": "Jangkauan layanan",
    "facilities_header": "Fasilitas",
    "status_header": "Status fasilitas",
    "network_header": "Jaringan",
    "boundaries_header": "Batas wilayah",
    "village": "Desa/kelurahan",
    "district": "Kecamatan",
    "region": "Kabupaten",
    "minutes": "menit",
    "method_network": "Metode: waktu tempuh melalui jaringan",
    "method_buffer": "Metode: jarak garis lurus",
    "method_polygon": "Metode: wilayah layanan yang digambar perencana",
    "drawn": "wilayah yang digambar",
    "projection": "Proyeksi: {crs}",
    "source": "Sumber: gis-service, hasil run {run_id}",
    "lltt": "Sedot tinja terjadwal (LLTT)",
    "offsite": "SPALD-T (IPAL)",
    "mck": "MCK",
    "iplt": "IPLT",
    "ipal_kota": "IPAL kota",
    "ipal_kawasan": "IPAL kawasan",
    "ipal_komunal": "IPAL komunal",
    "desludging_depot": "Depo sedot tinja",
    "transfer_station": "Stasiun transfer",
    "existing": "Ada (eksisting)",
    "pilot": "Uji coba (pilot)",
    "planned": "Rencana",
    "candidate": "Calon lokasi",
    "main_road": "Jalan utama",
    "road": "Jalan lainnya",
    "river": "Sungai",
    "path": "Jalan setapak",
}

FIGSIZE = (12.0, 8.5)  # inches, A4-landscape proportions; whole numbers of pixels at common dpi
MAP_BOX = (0.02, 0.03, 0.66, 0.84)  # map frame: left, bottom, width, height (figure fraction)
# Coverage classes: exactly 0 %, then up to 25, 50, 75 and 100 %.
COVERAGE_CLASSES = ("0 %", "> 0–25 %", "> 25–50 %", "> 50–75 %", "> 75–100 %")
COVERAGE_COLOURS = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")
NO_HOUSEHOLDS_COLOUR = "#d9d9d9"
SERVICE_COLOURS = {"lltt": "#6a3d9a", "offsite": "#08519c", "mck": "#d94801"}
TYPE_STYLE = {  # marker, colour
    "iplt": ("s", "#8c510a"), "ipal_kota": ("p", "#08306b"), "ipal_kawasan": ("h", "#2171b5"),
    "ipal_komunal": ("o", "#4292c6"), "mck": ("^", "#d94801"), "desludging_depot": ("D", "#6a3d9a"),
    "transfer_station": ("v", "#525252"),
}
STATUS_STYLE = {  # fill, edge colour (None: the type's colour), edge width, marker size
    "existing": ("full", "black", 0.8, 8), "pilot": ("bottom", None, 1.5, 8),
    "planned": ("none", None, 1.5, 8), "candidate": ("none", None, 0.8, 6),
}
NETWORK_STYLE = {  # colour, width, line style; drawn in this order, the river last to stay visible
    "path": ("#8c6d31", 0.4, (0, (3, 2))), "road": ("#969696", 0.4, "-"), "main_road": ("#252525", 1.0, "-"),
    "river": ("#4292c6", 1.2, "-"),
}
MAIN_ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary")
MAX_LABELLED_FACILITIES = 40
LABEL_OFFSETS = ((5, 3), (5, -3), (-5, 3), (-5, -3))  # points from the marker


@dataclass
class _Run:
    id: int
    scenario: str
    method: str
    illustrative: bool
    started_at: datetime
    region: str
    region_name: str


@dataclass
class _Layers:
    villages: gpd.GeoDataFrame  # code, households, served_households, geometry
    outlines: gpd.GeoDataFrame  # level (district or the region), geometry
    facilities: gpd.GeoDataFrame  # name, type, status, geometry
    service_areas: gpd.GeoDataFrame  # service, threshold, unit, geometry (one per band)
    network: gpd.GeoDataFrame  # mode, geometry


def render_maps(conn: Connection, run_id: int, out_dir: Path, *, metric_crs: str,
                dpi: int = 150) -> list[Path]:
    """Write the service coverage map and the main infrastructure map of a stored coverage run
    and return their paths. Raises ValueError for an unknown run."""
    run = _read_run(conn, run_id)
    limits, tolerance = _frame(conn, run.region, metric_crs, dpi)
    layers = _read_layers(conn, run, limits, tolerance, metric_crs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in (("peta_cakupan_layanan", _draw_coverage),
                       ("peta_infrastruktur_utama", _draw_infrastructure)):
        fig = Figure(figsize=FIGSIZE)
        FigureCanvasAgg(fig)
        ax = fig.add_axes(MAP_BOX)
        ax.set_xlim(limits[0], limits[2])
        ax.set_ylim(limits[1], limits[3])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        title, handles = draw(ax, layers)
        _furniture(fig, ax, run, title, handles, metric_crs)
        paths.append(out_dir / f"run{run_id}_{name}.png")
        fig.savefig(paths[-1], dpi=dpi, facecolor="white")
    return paths


def _read_run(conn: Connection, run_id: int) -> _Run:
    row = conn.execute(text(
        "SELECT r.scenario_name, r.method, r.illustrative, r.started_at, c.area_code, a.name "
        "FROM coverage_run r LEFT JOIN coverage_area c ON c.run_id = r.id AND c.level = 'regency' "
        "AND c.service = 'all' LEFT JOIN admin_area a ON a.code = c.area_code WHERE r.id = :r"),
        {"r": run_id}).first()
    if row is None:
        raise ValueError(f"coverage run {run_id} does not exist")
    if row.area_code is None:
        raise ValueError(f"coverage run {run_id} has no area results to map")
    return _Run(run_id, row.scenario_name, row.method, row.illustrative, row.started_at, row.area_code,
                row.name or row.area_code)


def _frame(conn: Connection, region: str, metric_crs: str, dpi: int
           ) -> tuple[tuple[float, float, float, float], float]:
    """Map limits (metric CRS) that fill the map frame at equal scale, and the simplification
    tolerance in degrees: half a pixel."""
    box = conn.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e "
        "FROM admin_area WHERE code = :c OR starts_with(code, :c || '.')) s"), {"c": region}).one()
    if box[0] is None:
        raise ValueError(f"no administrative boundaries of {region} are stored to map")
    x0, y0, x1, y1 = gpd.GeoSeries([shapely.box(*box)], crs="EPSG:4326").to_crs(metric_crs).total_bounds
    width_in, height_in = FIGSIZE[0] * MAP_BOX[2], FIGSIZE[1] * MAP_BOX[3]
    metres_per_inch = 1.04 * max((x1 - x0) / width_in, (y1 - y0) / height_in)  # 2 % margin each side
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = metres_per_inch * width_in / 2, metres_per_inch * height_in / 2
    metres_per_degree = 111_320  # at the equator; Indonesia spans 11 degrees of latitude around it
    tolerance = 0.5 * metres_per_inch / dpi / metres_per_degree
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h), tolerance


def _read_layers(conn: Connection, run: _Run, limits: tuple[float, ...], tolerance: float,
                 metric_crs: str) -> _Layers:
    """What the maps draw, simplified in PostGIS to ``tolerance``. ST_Simplify, not the
    topology-preserving variant (ten times slower on isochrones): areas under half a pixel may
    vanish, which the PNG could not show anyway; service areas are repaired before the union."""
    params = {"r": run.id, "c": run.region, "t": tolerance}

    def read(sql: str, **extra) -> gpd.GeoDataFrame:
        frame = gpd.read_postgis(text(sql), conn, geom_col="geom", params={**params, **extra})
        return frame.rename_geometry("geometry").set_crs(4326, allow_override=True).to_crs(metric_crs)

    wgs84 = gpd.GeoSeries([shapely.box(*limits)], crs=metric_crs).to_crs(4326).total_bounds
    return _Layers(
        villages=read(
            "SELECT a.code, COALESCE(c.households, 0) AS households, COALESCE(c.served_households, 0) "
            "AS served_households, ST_Simplify(a.geom, :t, true) AS geom FROM admin_area a "
            "LEFT JOIN coverage_area c ON c.run_id = :r AND c.area_code = a.code AND c.service = 'all' "
            "WHERE a.level = 'village' AND starts_with(a.code, :c || '.')"),
        outlines=read(
            "SELECT CASE WHEN code = :c THEN 'region' ELSE 'district' END AS level, "
            "ST_Boundary(ST_Simplify(geom, :t, true)) AS geom FROM admin_area "
            "WHERE code = :c OR (level = 'district' AND starts_with(code, :c || '.'))"),
        facilities=read(
            "SELECT f.name, f.type, f.status, f.geom FROM coverage_facility c "
            "JOIN facility f ON f.id = c.facility_id WHERE c.run_id = :r ORDER BY f.id"),
        service_areas=read(
            "SELECT service, threshold, unit, ST_Boundary(ST_Union(ST_CollectionExtract(ST_MakeValid("
            "ST_Simplify(geom, :t)), 3))) AS geom FROM coverage_service_area WHERE run_id = :r "
            "GROUP BY service, threshold, unit ORDER BY service, threshold"),
        network=read(
            "SELECT CASE WHEN mode = 'road' AND class = ANY(:main) THEN 'main_road' ELSE mode END AS mode, "
            "ST_Simplify(ST_Collect(geom), :t) AS geom FROM network_edge "
            "WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) GROUP BY 1",
            x0=wgs84[0], y0=wgs84[1], x1=wgs84[2], y1=wgs84[3], main=list(MAIN_ROAD_CLASSES)),
    )


def _draw_coverage(ax: Axes, layers: _Layers) -> tuple[str, list]:
    """Villages by share of households served by any service, service-area outlines per band,
    the run's facilities, district boundaries."""
    villages = layers.villages
    empty = villages["households"] == 0
    share = villages["served_households"] / villages["households"].where(~empty)
    classes = np.ceil(share.fillna(0) * 4).clip(0, 4).astype(int)
    if (~empty).any():
        villages[~empty].plot(ax=ax, color=[COVERAGE_COLOURS[c] for c in classes[~empty]],
                              edgecolor="#969696", linewidth=0.2)
    if empty.any():
        villages[empty].plot(ax=ax, facecolor=NO_HOUSEHOLDS_COLOUR, edgecolor="#969696", hatch="////",
                             linewidth=0.2)
    handles = [_header("coverage_header")]
    handles += [Patch(facecolor=c, edgecolor="#969696", label=label)
                for c, label in zip(COVERAGE_COLOURS, COVERAGE_CLASSES)]
    if empty.any():
        handles.append(Patch(facecolor=NO_HOUSEHOLDS_COLOUR, edgecolor="#969696", hatch="////",
                             label=LABELS["no_households"]))
    handles += _draw_service_areas(ax, layers.service_areas)
    handles += _draw_boundaries(ax, layers.outlines, None)
    handles += _draw_facilities(ax, layers.facilities, labelled=False)
    return "coverage_title", handles


def _draw_infrastructure(ax: Axes, layers: _Layers) -> tuple[str, list]:
    """The network by mode, the run's facilities by type and status with their names when few,
    administrative boundaries."""
    ax.set_facecolor("#f0f0f0")
    layers.villages.plot(ax=ax, facecolor="white", edgecolor="none")
    handles = [_header("network_header")]
    for mode, (colour, width, style) in NETWORK_STYLE.items():
        geoms = layers.network.geometry[layers.network["mode"] == mode]
        if geoms.empty:
            continue
        ax.add_artist(_outline(geoms, edgecolor=colour, linewidth=width, linestyle=style, zorder=4))
        handles.append(Line2D([], [], color=colour, linewidth=width * 2, linestyle=style, label=LABELS[mode]))
    handles += _draw_boundaries(ax, layers.outlines, layers.villages)
    few = len(layers.facilities) <= MAX_LABELLED_FACILITIES
    handles += _draw_facilities(ax, layers.facilities, labelled=few)
    return "infrastructure_title", handles


def _draw_service_areas(ax: Axes, areas: gpd.GeoDataFrame) -> list:
    """One outline per service and band; the largest band of a service is the lightest."""
    handles = [_header("bands_header")] if not areas.empty else []
    for service, bands in areas.groupby("service", sort=False):
        base = np.array(to_rgb(SERVICE_COLOURS[service]))
        for rank, row in enumerate(bands.sort_values("threshold").itertuples()):
            colour = base + (1 - base) * 0.6 * rank / max(len(bands) - 1, 1)
            ax.add_artist(_outline([row.geometry], edgecolor=colour, linewidth=1.2, zorder=4))
            handles.append(Line2D([], [], color=colour, linewidth=1.5,
                                  label=f"{LABELS[service]} {_band(row.threshold, row.unit)}"))
    return handles


def _draw_boundaries(ax: Axes, outlines: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None) -> list:
    """Village lines (when given), district lines thicker, the region's outline thickest."""
    handles = [_header("boundaries_header")]
    styles = [("village", "#bdbdbd", 0.3, villages.boundary if villages is not None else None),
              ("district", "#525252", 0.9, outlines.geometry[outlines["level"] == "district"]),
              ("region", "black", 1.6, outlines.geometry[outlines["level"] == "region"])]
    for key, colour, width, geoms in styles:
        if geoms is None or geoms.empty:
            continue
        ax.add_artist(_outline(geoms, edgecolor=colour, linewidth=width, zorder=3))
        handles.append(Line2D([], [], color=colour, linewidth=width, label=LABELS[key]))
    return handles


def _draw_facilities(ax: Axes, facilities: gpd.GeoDataFrame, *, labelled: bool) -> list:
    """Markers by type (shape and colour) and status (fill and edge); names when asked."""
    if facilities.empty:
        return []
    for (kind, status), group in facilities.groupby(["type", "status"]):
        ax.plot(group.geometry.x, group.geometry.y, linestyle="none", zorder=6, **_marker(kind, status))
    if labelled:  # neighbours in latitude get different corners, so clustered names stay apart
        ordered = facilities.iloc[np.lexsort((facilities.geometry.x, facilities.geometry.y))]
        for i, row in enumerate(ordered.itertuples()):
            dx, dy = LABEL_OFFSETS[i % len(LABEL_OFFSETS)]
            ax.annotate(row.name, (row.geometry.x, row.geometry.y), xytext=(dx, dy),
                        textcoords="offset points", ha="left" if dx > 0 else "right",
                        va="bottom" if dy > 0 else "top", fontsize=6, zorder=7,
                        path_effects=[withStroke(linewidth=2, foreground="white")])
    present = set(facilities["type"])
    handles = [_header("facilities_header")]
    handles += [Line2D([], [], linestyle="none", label=LABELS[k], **_marker(k, "existing"))
                for k in TYPE_STYLE if k in present]
    handles.append(_header("status_header"))
    statuses = set(facilities["status"])
    handles += [Line2D([], [], linestyle="none", label=LABELS[s], **_marker(None, s))
                for s in STATUS_STYLE if s in statuses]
    return handles


def _marker(kind: str | None, status: str) -> dict:
    """Line2D marker properties; without a type, a neutral circle (for the status legend)."""
    shape, colour = TYPE_STYLE[kind] if kind else ("o", "#737373")
    fill, edge, width, size = STATUS_STYLE[status]
    return {"marker": shape, "markersize": size, "fillstyle": fill, "markerfacecolor": colour,
            "markerfacecoloralt": "white", "markeredgecolor": edge or colour, "markeredgewidth": width}


def _furniture(fig: Figure, ax: Axes, run: _Run, title: str, handles: list, crs: str) -> None:
    """Title block, legend, notes, north arrow, scale bar and, for illustrative runs, the stamp."""
    ax.set(xlabel="", ylabel="")  # geopandas labels the axes with the CRS
    fig.text(0.02, 0.975, LABELS[title], fontsize=16, weight="bold", va="top")
    fig.text(0.02, 0.935, LABELS[f"{title}_en"], fontsize=10, style="italic", color="#525252", va="top")
    fig.text(0.02, 0.905, LABELS["subtitle"].format(region=run.region_name, scenario=run.scenario,
                                                    run_id=run.id, date=f"{run.started_at:%Y-%m-%d}"),
             fontsize=8.5, va="top")
    legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.70, 0.87), frameon=False,
                        fontsize=7.5, handlelength=2.2, borderaxespad=0)
    headers = {value for key, value in LABELS.items() if key.endswith("_header")}
    for label in legend.get_texts():
        if label.get_text() in headers:
            label.set_fontweight("bold")
    notes = [LABELS.get(f"method_{run.method}", run.method), LABELS["projection"].format(crs=crs),
             LABELS["source"].format(run_id=run.id)]
    fig.text(0.70, 0.03, "\n".join(notes), fontsize=7, va="bottom", color="#525252")
    if run.illustrative:
        fig.text(0.70, 0.11, LABELS["stamp"], fontsize=8, weight="bold", color="#cb181d", va="bottom")
        ax.text(0.5, 0.5, LABELS["stamp"], transform=ax.transAxes, rotation=35, fontsize=24, weight="bold",
                color="#cb181d", alpha=0.45, ha="center", va="center", zorder=10)
    north_arrow(ax)
    scale_bar(ax)


def north_arrow(ax: Axes, label: str = LABELS["north"]) -> None:
    ax.annotate("", xy=(0.95, 0.93), xytext=(0.95, 0.83), xycoords="axes fraction", zorder=9,
                arrowprops={"facecolor": "black", "width": 3, "headwidth": 11, "headlength": 11})
    ax.text(0.95, 0.965, label, transform=ax.transAxes, ha="center", va="center", fontsize=12,
            weight="bold", zorder=9)


def scale_bar(ax: Axes, unit: str = LABELS["km"]) -> None:
    """A four-segment bar of a round length near a quarter of the map width, in the lower left."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    target = (x1 - x0) / 4
    step = 10 ** np.floor(np.log10(target))
    length = max(m * step for m in (1, 2, 5, 10) if m * step <= target)
    left, bottom, height = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0), 0.008 * (y1 - y0)
    for i in range(4):
        ax.add_patch(Rectangle((left + i * length / 4, bottom), length / 4, height, zorder=9, linewidth=0.6,
                               facecolor="black" if i % 2 == 0 else "white", edgecolor="black"))
    halo = [withStroke(linewidth=2, foreground="white")]
    for value in (0, length / 2, length):
        ax.text(left + value, bottom + 1.8 * height, f"{value / 1000:g}", ha="center", va="bottom",
                fontsize=7, zorder=9, path_effects=halo)
    ax.text(left + length + 0.012 * (x1 - x0), bottom, unit, va="bottom", fontsize=7, zorder=9,
            path_effects=halo)


def _header(key: str) -> Line2D:
    """A legend row without a symbol: a section title (set in bold by ``_furniture``)."""
    return Line2D([], [], linestyle="none", label=LABELS[key])


def _band(threshold: float, unit: str) -> str:
    """Legend text of a band: '≤ 30 menit', '≤ 5 km', or the drawn-area label."""
    if unit == "drawn":
        return LABELS["drawn"]
    if unit == "min":
        return f"≤ {threshold:g} {LABELS['minutes']}"
    return f"≤ {round(threshold / 1000, 1):g} km" if threshold >= 1000 else f"≤ {threshold:.0f} m"


def _outline(geoms, **style) -> PathPatch:
    """Every line part as one compound path (a move to the start of each part), drawn as a
    single artist: a province network of 300k edges draws in about a second, where 300k
    separate paths take many."""
    coords, part = shapely.get_coordinates(shapely.get_parts(np.asarray(geoms, dtype=object)),
                                           return_index=True)
    codes = np.where(np.diff(part, prepend=-1) != 0, MplPath.MOVETO, MplPath.LINETO).astype(MplPath.code_type)
    return PathPatch(MplPath(coords, codes), fill=False, **style)
