"""Charts and maps of stored scale-up runs (matplotlib's Agg canvas, no display needed): the plan
map (villages by phase, facilities by type and phase), coverage by phase, investment by funding
line, and the comparison map of several runs side by side. Maps are drawn in the region's metric
CRS so the scale bar is true."""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from gis_service.analysis.maps import north_arrow, scale_bar

PHASE_COLORS = {1: "#1a9641", 2: "#fdae61", 3: "#d7191c"}
FACILITY_PHASE_COLORS = {0: "#969696", 1: "#1a9641", 2: "#fdae61"}
MARKERS = {"iplt": "s", "desludging_depot": "D", "transfer_station": "p", "ipal_komunal": "o", "mck": "^"}
FUNDING_COLORS = {"apbn": "#2b83ba", "dak": "#7b3294", "apbd_province": "#abdda4", "apbd_district": "#fdae61",
                  "other": "#bababa"}

TEXT = {
    "id": {"phase": {1: "Jangka pendek", 2: "Jangka menengah", 3: "Nanti (belum terjangkau)"},
           "fphase": {0: "sudah ada", 1: "baru, jangka pendek", 2: "baru, jangka menengah"},
           "north": "U", "coverage": "Terjangkau layanan", "aman": "Akses aman", "layak": "Akses layak",
           "now": "Sekarang", "short": "Jangka pendek", "medium": "Jangka menengah", "pct": "% rumah tangga",
           "billion": "miliar Rp", "funding": {"apbn": "APBN", "dak": "DAK", "apbd_province": "APBD provinsi",
                                               "apbd_district": "APBD kabupaten", "other": "Lainnya"},
           "types": {"iplt": "IPLT", "desludging_depot": "Depo sedot tinja", "transfer_station": "Dermaga lumpur",
                     "ipal_komunal": "IPAL komunal", "mck": "MCK"},
           "items": {"iplt": "IPLT", "desludging_depot": "Depo", "transfer_station": "Dermaga", "trucks": "Truk",
                     "ipal_komunal": "IPAL komunal", "septic_tanks": "Tangki septik", "mck": "MCK"},
           "institutions": {"uptd": "UPTD (Unit Pelaksana Teknis Daerah)", "dinas": "Dinas",
                            "bumd": "BUMD / Perumda", "kpp": "KPP (Kelompok Pemanfaat dan Pemelihara)",
                            "private": "Swasta", "other": "Lainnya", "unassigned": "Belum ditetapkan"}},
    "en": {"phase": {1: "Short term", 2: "Medium term", 3: "Later (not yet reached)"},
           "fphase": {0: "in place", 1: "new, short term", 2: "new, medium term"},
           "north": "N", "coverage": "In reach of a service", "aman": "Safely managed (aman)",
           "layak": "Basic or better (layak)", "now": "Now", "short": "Short term", "medium": "Medium term",
           "pct": "% of households", "billion": "billion Rp",
           "funding": {"apbn": "APBN (national)", "dak": "DAK (special allocation)", "apbd_province": "APBD province",
                       "apbd_district": "APBD district", "other": "Other"},
           "types": {"iplt": "IPLT", "desludging_depot": "Desludging depot", "transfer_station": "Sludge landing",
                     "ipal_komunal": "Communal WWTP", "mck": "Public toilet"},
           "items": {"iplt": "IPLT", "desludging_depot": "Depots", "transfer_station": "Landings",
                     "trucks": "Trucks", "ipal_komunal": "Communal WWTP", "septic_tanks": "Septic tanks",
                     "mck": "Public toilets"},
           "institutions": {"uptd": "UPTD (regional technical unit)", "dinas": "District office (dinas)",
                            "bumd": "BUMD / Perumda (regional enterprise)", "kpp": "KPP (community group)",
                            "private": "Private operator", "other": "Other", "unassigned": "Not assigned"}},
}


def png(fig: Figure, dpi: int = 110) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, bbox_inches="tight")
    return out.getvalue()


def plan_map(villages: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, *, lang: str, title: str,
             ax=None) -> Figure | None:
    """Villages coloured by phase, facilities marked by type (shape) and phase (colour)."""
    t = TEXT[lang]
    fig = None
    if ax is None:
        fig = Figure(figsize=(9, 9))
        ax = fig.add_subplot()
    for phase, color in PHASE_COLORS.items():
        part = villages[villages["phase"] == phase]
        if len(part):
            part.plot(ax=ax, color=color, alpha=0.7, edgecolor="#737373", linewidth=0.2)
    for (kind, phase), part in facilities.groupby(["type", "phase"]):
        ax.scatter(part.geometry.x, part.geometry.y, marker=MARKERS.get(kind, "o"),
                   c=FACILITY_PHASE_COLORS.get(phase, "#000000"), edgecolors="#232323", linewidths=0.6,
                   s=70 if phase else 40, zorder=5)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    ax.set_aspect("equal")
    north_arrow(ax, t["north"])
    scale_bar(ax)
    handles = [Patch(color=c, alpha=0.7, label=t["phase"][p]) for p, c in PHASE_COLORS.items()]
    handles += [Line2D([], [], marker=MARKERS[k], linestyle="", color="#ffffff", markeredgecolor="#232323",
                       label=t["types"][k]) for k in sorted(set(facilities["type"]))]
    handles += [Line2D([], [], marker="o", linestyle="", color=c, label=t["fphase"][p])
                for p, c in FACILITY_PHASE_COLORS.items() if (facilities["phase"] == p).any()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    return fig


def phase_chart(phases: pd.DataFrame, *, lang: str) -> Figure:
    """Coverage, aman and layak shares now and after each phase."""
    t = TEXT[lang]
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    labels = [t["now"], t["short"], t["medium"]]
    x = np.arange(len(phases))
    for i, (column, key, color) in enumerate((("coverage_pct", "coverage", "#2b83ba"),
                                              ("aman_pct", "aman", "#1a9641"), ("layak_pct", "layak", "#a6d96a"))):
        bars = ax.bar(x + (i - 1) * 0.27, phases[column], width=0.26, color=color, label=t[key])
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(x, labels[: len(phases)])
    ax.set_ylabel(t["pct"])
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def funding_chart(funding: dict, *, lang: str) -> Figure:
    """Investment per item, stacked by funding line (billions of Rupiah)."""
    t = TEXT[lang]
    items = [k for k in funding if k != "total"]
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    left = np.zeros(len(items))
    for line, color in FUNDING_COLORS.items():
        values = np.array([funding[i].get(line, 0.0) for i in items]) / 1e9
        ax.barh([t["items"].get(i, i) for i in items], values, left=left, color=color, label=t["funding"][line])
        left += values
    ax.set_xlabel(t["billion"])
    ax.legend(fontsize=8, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def compare_map(runs: list[tuple[str, gpd.GeoDataFrame, gpd.GeoDataFrame]], *, lang: str) -> Figure:
    """One map of several runs side by side (same extent): villages by phase, facilities."""
    cols = min(len(runs), 2)
    rows = int(np.ceil(len(runs) / cols))
    fig = Figure(figsize=(6.5 * cols, 7 * rows))
    for i, (title, villages, facilities) in enumerate(runs):
        ax = fig.add_subplot(rows, cols, i + 1)
        plan_map(villages, facilities, lang=lang, title=title, ax=ax)
    return fig
