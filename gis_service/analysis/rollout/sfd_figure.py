"""The SFD graphic of one area and state: four columns (containment, emptying, transport,
treatment) whose heights are shares of households; what stays safely managed flows on in green,
what leaves the chain unsafely drops out in red, what is contained but not yet safe in amber.
Labelled in Bahasa Indonesia by default; drawn with matplotlib (no display needed)."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from gis_service.analysis.rollout.sfd import LABELS
from gis_service.analysis.rounding import number_text

SAFE, UNSAFE, HELD, BLUE, GREY = "#1a9641", "#d7191c", "#fdae61", "#2b83ba", "#bababa"
COLOURS = {"offsite": BLUE, "emptied": SAFE, "contained": HELD, "pit": "#fee08b", "unimproved": UNSAFE,
           "open_defecation": UNSAFE, "unknown": GREY}
WIDTH, GAP = 0.16, 0.1


def sfd_figure(row: dict, *, lang: str = "id", title: str | None = None) -> Figure:
    """``row``: one row of the SFD table (shares in %)."""
    t = LABELS[lang]
    fig = Figure(figsize=(9.5, 5.2))
    ax = fig.add_axes((0.02, 0.08, 0.62, 0.8))
    ax.set_xlim(-0.02, 4 * WIDTH + 3 * GAP + 0.02)
    ax.set_ylim(-2, 102)
    ax.axis("off")
    x = [k * (WIDTH + GAP) for k in range(4)]
    # containment: every class, top to bottom
    top = 100.0
    parts = {}
    for c in ("offsite", "emptied", "contained", "pit", "unimproved", "open_defecation", "unknown"):
        h = float(row[f"{c}_pct"])
        parts[c] = (top - h, top)
        ax.add_patch(Rectangle((x[0], top - h), WIDTH, h, color=COLOURS[c], lw=0))
        top -= h
    off_lo, off_hi = parts["offsite"]
    emp_lo, emp_hi = parts["emptied"]
    delivered = float(row["emptied_pct"]) - float(row["lost_in_transport_pct"])
    treated = delivered - float(row["untreated_pct"])
    # the chain: off-site goes straight to treatment; emptied tanks lose sludge in transport, then at the plant
    heights = [(float(row["offsite_pct"]), float(row["emptied_pct"])),
               (float(row["offsite_pct"]), delivered), (float(row["offsite_pct"]), treated)]
    for k, (off, emp) in enumerate(heights, start=1):
        ax.add_patch(Rectangle((x[k], off_hi - off), WIDTH, off, color=BLUE, lw=0))
        ax.add_patch(Rectangle((x[k], emp_hi - emp), WIDTH, emp, color=SAFE, lw=0))
        prev_off, prev_emp = (heights[k - 2] if k > 1 else (float(row["offsite_pct"]), float(row["emptied_pct"])))
        _band(ax, x[k - 1] + WIDTH, x[k], (off_hi - prev_off, off_hi), (off_hi - off, off_hi), BLUE)
        _band(ax, x[k - 1] + WIDTH, x[k], (emp_hi - emp, emp_hi), (emp_hi - emp, emp_hi), SAFE)
    lost = float(row["lost_in_transport_pct"])
    untreated = float(row["untreated_pct"])
    if lost > 0.05:
        ax.add_patch(Rectangle((x[2], emp_lo), WIDTH, lost, color=UNSAFE, lw=0))
    if untreated > 0.05:
        ax.add_patch(Rectangle((x[3], emp_hi - delivered), WIDTH, untreated, color=UNSAFE, lw=0))
    for k, stage in enumerate(t["stages"]):
        ax.text(x[k] + WIDTH / 2, 101, stage, ha="center", va="bottom", fontsize=9, weight="bold")
    pct = lambda v: number_text(v, 1, lang=lang) + " %"  # noqa: E731
    legend = fig.add_axes((0.66, 0.08, 0.33, 0.8))
    legend.axis("off")
    lines = [(COLOURS[c], f"{t[c]}: {pct(float(row[f'{c}_pct']))}") for c in
             ("offsite", "emptied", "contained", "pit", "unimproved", "open_defecation", "unknown")
             if float(row[f"{c}_pct"]) > 0]
    lines += [(UNSAFE, f"{t['lost_transport']}: {pct(lost)}"), (UNSAFE, f"{t['untreated']}: {pct(untreated)}")]
    for i, (colour, label) in enumerate(lines):
        legend.add_patch(Rectangle((0.0, 0.93 - i * 0.075), 0.06, 0.045, color=colour, transform=legend.transAxes))
        legend.text(0.09, 0.952 - i * 0.075, label, fontsize=8, va="center", transform=legend.transAxes)
    y = 0.93 - len(lines) * 0.075 - 0.04
    legend.text(0.0, y, f"{t['safe']}: {pct(float(row['safely_managed_pct']))}", color=SAFE, fontsize=11,
                weight="bold", transform=legend.transAxes)
    legend.text(0.0, y - 0.08, f"{t['unsafe']}: {pct(float(row['not_safely_managed_pct']))}", color=UNSAFE,
                fontsize=11, weight="bold", transform=legend.transAxes)
    place = ("Kecamatan " if lang == "id" else "District ") + row["area_name"] if row["level"] == "district" \
        else row["area_name"]
    fig.suptitle(title or f"SFD {place} ({t[row['state']]})", fontsize=12, x=0.02, ha="left")
    fig.text(0.02, 0.01, ("Persen rumah tangga; " if lang == "id" else "Percent of households; ")
             + (f"lumpur sampai IPLT {pct(100 * float(row['delivered_share']))}, terolah "
                f"{pct(100 * float(row['treated_share']))}" if lang == "id" else
                f"sludge delivered {pct(100 * float(row['delivered_share']))}, treated "
                f"{pct(100 * float(row['treated_share']))}"), fontsize=7.5, color="#555")
    return fig


def _band(ax, x0: float, x1: float, left: tuple[float, float], right: tuple[float, float], colour: str) -> None:
    """A flow band from one column's segment to the next's."""
    if left[1] - left[0] <= 0 and right[1] - right[0] <= 0:
        return
    ax.add_patch(Polygon([(x0, left[0]), (x1, right[0]), (x1, right[1]), (x0, left[1])], closed=True,
                         color=colour, alpha=0.35, lw=0))


def report_sfd(conn, *, metric: str, config_dir, lang: str = "id") -> dict | None:
    """The SFDs the plan report shows: the regency now and with the scenario of the published
    coverage run (images, base64 PNG) and every kecamatan's shares; None when no coverage run is
    published or it cannot give an SFD (the reason is in ``note``)."""
    import base64

    from gis_service.analysis.publishing import published_run
    from gis_service.analysis.rollout.sfd import build_sfd
    from gis_service.analysis.scaleup.figures import png

    run = published_run(conn, "coverage")
    if run is None:
        return None
    try:
        result = build_sfd(conn, run, metric=metric, config_dir=config_dir)
    except ValueError as exc:
        return {"run_id": run, "note": str(exc), "images": {}, "rows": []}
    rows = result.table.to_dict(orient="records")
    regency = {r["state"]: r for r in rows if r["level"] == "regency"}
    images = {state: base64.b64encode(png(sfd_figure(row, lang=lang), dpi=90)).decode("ascii")
              for state, row in regency.items()}
    return {"run_id": run, "scenario": result.scenario, "images": images, "rows": rows, "notes": result.notes,
            "note": None}
