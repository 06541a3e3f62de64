// The meeting map: an A4 landscape page at 300 dpi (PNG) with the map of each run shown (A and B
// side by side when comparing), drawn again at print resolution, under a title naming the regency,
// the scenario, the run and the date, with the legend of every layer shown (its title and its
// classes, the facility symbols among them), a scale bar, a north arrow, the data notice and the
// attributions. The file name names the run(s); the PNG says its resolution (pHYs) and title.
import { formatDate, formatNumber, t } from "./i18n.js";
import { comparedRun, runLabel, selectedRun } from "./summary.js";
import { RUN_SOURCE, state } from "./state.js";
import { h } from "./dom.js";
import { layerGroups, legend } from "./layers.js";
import { withKey } from "./views.js";
import { pngWithMetadata } from "./png.js";
import { drawMarker } from "./shapes.js";

export const PAGE = { width: 3508, height: 2480, dpi: 300 }; // A4 landscape: 297 × 210 mm at 300 dpi
const PIXEL_RATIO = 3; // print canvas pixels per CSS pixel: a 1169 × 827 CSS-pixel page
const MM = PAGE.dpi / 25.4; // page pixels per millimetre
const INK = "#111111";
const IDLE_TIMEOUT_MS = 30000; // a map that never settles (a hanging tile) is drawn as it is then

/** Draw the meeting map and save it as PNG. */
export async function exportMeetingMap() {
  const button = document.getElementById("export-png");
  button.disabled = true;
  try {
    const page = await meetingPage();
    const blob = await new Promise((resolve) => page.canvas.toBlob(resolve, "image/png"));
    const png = await pngWithMetadata(blob, { dpi: PAGE.dpi, title: page.title });
    const url = URL.createObjectURL(png);
    h("a", { href: url, download: fileName() }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } finally {
    button.disabled = false;
  }
}

export function fileName() {
  const [a, b] = [selectedRun(), comparedRun()];
  return `peta-sanitasi-run-${a ?? "none"}${b ? `-vs-${b}` : ""}-A4.png`;
}

async function meetingPage() {
  const canvas = h("canvas");
  canvas.width = PAGE.width;
  canvas.height = PAGE.height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, PAGE.width, PAGE.height);

  const margin = Math.round(10 * MM);
  const legendWidth = Math.round(75 * MM);
  const gap = Math.round(4 * MM);
  const top = margin + Math.round(22 * MM); // below the title block
  const footer = Math.round(14 * MM);
  const mapArea = { x: margin, y: top, width: PAGE.width - 2 * margin - legendWidth - gap,
    height: PAGE.height - top - footer - margin };

  const regency = state.summaries[0]?.regency?.name ?? state.region?.name ?? "";
  const title = `${t("title")}: ${regency}`;
  ctx.fillStyle = INK;
  fitText(ctx, title, "bold", 9 * MM, margin, margin + 8 * MM, PAGE.width - 2 * margin);
  const runs = state.views.map((view, i) => {
    const run = state.runs.find((r) => r.id === view.runId);
    const letter = state.views.length > 1 ? `${"AB"[i]} · ` : "";
    return run ? `${letter}${runLabel(run)}` : "";
  });
  fitText(ctx, runs.join("   |   "), "", 5 * MM, margin, margin + 15 * MM, PAGE.width - 2 * margin);
  fitText(ctx, t("printedOn", { date: formatDate(new Date().toISOString()) }), "", 4 * MM, margin,
    margin + 20.5 * MM, PAGE.width - 2 * margin);

  const n = state.views.length;
  const width = Math.floor((mapArea.width - gap * (n - 1)) / n);
  const drawnLayers = new Set();
  for (const [i, view] of state.views.entries()) {
    const frame = { x: mapArea.x + i * (width + gap), y: mapArea.y, width, height: mapArea.height };
    const drawn = await printMap(view, frame.width, frame.height);
    ctx.drawImage(drawn.canvas, frame.x, frame.y);
    for (const id of drawn.drawn) drawnLayers.add(id);
    ctx.strokeStyle = INK;
    ctx.lineWidth = Math.round(0.3 * MM);
    ctx.strokeRect(frame.x, frame.y, frame.width, frame.height);
    if (n > 1) badge(ctx, "AB"[i], frame);
    scaleBar(ctx, drawn.metresPerPixel, frame);
    northArrow(ctx, frame);
  }

  const legendBox = { x: PAGE.width - margin - legendWidth, y: top, width: legendWidth, height: mapArea.height };
  drawLegend(ctx, legendBox, drawnLayers);

  ctx.fillStyle = INK;
  const notice = [state.runs.some((r) => state.views.some((v) => v.runId === r.id) && r.illustrative)
    ? t("illustrativeNotice") : null, t("dataNotice", { host: location.host })].filter(Boolean).join(" ");
  fitText(ctx, notice, "", 3.6 * MM, margin, PAGE.height - margin - 7 * MM, PAGE.width - 2 * margin);
  fitText(ctx, `${t("attribution")}: ${attributions().join("; ")}`, "", 3.2 * MM, margin,
    PAGE.height - margin - 2 * MM, PAGE.width - 2 * margin);
  return { canvas, title: `${title} - ${runs.join(" | ")}` };
}

/** The view's map drawn again, off screen, at print resolution into `width` × `height` page
 * pixels showing the same area; and the metres a page pixel spans at its centre. */
async function printMap(view, width, height) {
  const container = h("div", { class: "print-map", "aria-hidden": "true" });
  container.style.width = `${width / PIXEL_RATIO}px`;
  container.style.height = `${height / PIXEL_RATIO}px`;
  document.body.append(container);
  const map = new maplibregl.Map({
    container, style: view.map.getStyle(), bounds: view.map.getBounds(), pixelRatio: PIXEL_RATIO,
    interactive: false, attributionControl: false, fadeDuration: 0, transformRequest: withKey,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.on("error", () => map.triggerRepaint()); // an unreachable basemap tile: go on without it
  try {
    await new Promise((resolve) => {
      map.once("idle", resolve);
      setTimeout(resolve, IDLE_TIMEOUT_MS);
    });
    const canvas = h("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").drawImage(map.getCanvas(), 0, 0, width, height);
    // the layers that drew something: the legend lists only their classes
    const drawn = new Set(map.queryRenderedFeatures().map((f) => f.layer.id));
    const lat = map.getCenter().lat * Math.PI / 180;
    const metresPerCssPixel = 40075016.686 * Math.cos(lat) / (512 * 2 ** map.getZoom());
    return { canvas, metresPerPixel: metresPerCssPixel / PIXEL_RATIO, drawn };
  } finally {
    map.remove();
    container.remove();
  }
}

/** The legend of every layer shown: its title, then one swatch per class: every class of the runs'
 * coverage (a classification is read whole), of the other layers the classes drawn on the page.
 * Rows get shorter when the page would not hold them all. */
function drawLegend(ctx, box, drawnLayers) {
  const groups = layerGroups().filter(([, group]) => group.layers.some((layer) => layer.layout?.visibility !== "none"))
    .sort(([a], [b]) => (b === RUN_SOURCE) - (a === RUN_SOURCE)) // the runs' coverage first
    .map(([source, group]) => ({ title: group.title, entries: legend(group.layers).filter(({ layers }) =>
      source === RUN_SOURCE || layers.some((layer) => drawnLayers.has(layer.id))) }))
    .filter((group) => group.entries.length);
  const rows = groups.reduce((n, g) => n + g.entries.length + 2, 1);
  const row = Math.max(Math.round(3.6 * MM), Math.min(Math.round(6.5 * MM), Math.floor(box.height / rows)));
  const size = Math.round(row * 0.65);
  const font = Math.round(row * 0.52);
  let y = box.y + Math.round(5 * MM);
  ctx.fillStyle = INK;
  ctx.font = `bold ${Math.round(5 * MM)}px sans-serif`;
  ctx.fillText(t("legend"), box.x, y);
  y += Math.round(7 * MM);
  for (const group of groups) {
    if (y + row * 2 > box.y + box.height) break; // no room left on the page
    ctx.fillStyle = INK;
    y += wrapText(ctx, group.title, "bold", font * 1.05, box.x, y, box.width) + Math.round(0.5 * MM);
    for (const { label, swatch } of group.entries) {
      if (y > box.y + box.height) break;
      drawSwatch(ctx, swatch, box.x, y - size, size);
      ctx.fillStyle = INK;
      ctx.font = `${font}px sans-serif`;
      ctx.fillText(label, box.x + size + Math.round(2.5 * MM), y - Math.round(0.1 * size), box.width - size - 3 * MM);
      y += row;
    }
    y += Math.round(row * 0.4);
  }
}

function drawSwatch(ctx, { shape, fill, opacity = 1, stroke, marker }, x, y, size) {
  ctx.save();
  if (shape === "marker") {
    drawMarker(ctx, marker, x, y, size);
    ctx.restore();
    return;
  }
  ctx.globalAlpha = shape === "area" ? opacity : 1;
  ctx.fillStyle = fill;
  ctx.strokeStyle = stroke ?? fill;
  ctx.lineWidth = Math.max(2, Math.round(0.3 * MM));
  if (shape === "point") {
    ctx.beginPath();
    ctx.arc(x + size / 2, y + size / 2, size / 2.6, 0, 2 * Math.PI);
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.stroke();
  } else if (shape === "line") {
    ctx.fillRect(x, y + size * 0.4, size, size * 0.2);
  } else {
    ctx.fillRect(x, y, size, size);
    ctx.globalAlpha = 1;
    if (stroke) ctx.strokeRect(x, y, size, size);
  }
  ctx.restore();
}

/** A scale bar of a round length (1, 2 or 5 × 10^k m) about a fifth of the frame wide. */
function scaleBar(ctx, metresPerPixel, frame) {
  const want = frame.width / 5 * metresPerPixel;
  const power = 10 ** Math.floor(Math.log10(want));
  const metres = [5, 2, 1].map((m) => m * power).find((m) => m <= want) ?? power;
  const length = metres / metresPerPixel;
  const x = frame.x + Math.round(5 * MM);
  const y = frame.y + frame.height - Math.round(6 * MM);
  const label = metres >= 1000 ? `${formatNumber(metres / 1000)} km` : `${formatNumber(metres)} m`;
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.fillRect(x - 2 * MM, y - 8 * MM, length + 4 * MM, 11 * MM);
  ctx.fillStyle = INK;
  ctx.fillRect(x, y, length, Math.round(1.2 * MM));
  ctx.fillRect(x, y - 1.5 * MM, Math.round(0.5 * MM), 2.7 * MM);
  ctx.fillRect(x + length - 0.5 * MM, y - 1.5 * MM, Math.round(0.5 * MM), 2.7 * MM);
  ctx.font = `${Math.round(3.6 * MM)}px sans-serif`;
  ctx.fillText(label, x, y - 2.5 * MM);
}

/** North is up: the maps do not rotate. */
function northArrow(ctx, frame) {
  const cx = frame.x + frame.width - Math.round(10 * MM);
  const top = frame.y + Math.round(5 * MM);
  const tall = Math.round(12 * MM);
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.fillRect(cx - 5 * MM, top - 1 * MM, 10 * MM, tall + 7 * MM);
  ctx.fillStyle = INK;
  ctx.beginPath();
  ctx.moveTo(cx, top);
  ctx.lineTo(cx + 3.5 * MM, top + tall);
  ctx.lineTo(cx, top + tall * 0.72);
  ctx.lineTo(cx - 3.5 * MM, top + tall);
  ctx.closePath();
  ctx.fill();
  ctx.font = `bold ${Math.round(4.5 * MM)}px sans-serif`;
  ctx.textAlign = "center";
  ctx.fillText(t("north"), cx, top + tall + 5 * MM);
  ctx.textAlign = "start";
}

function badge(ctx, letter, frame) {
  ctx.fillStyle = INK;
  ctx.fillRect(frame.x, frame.y, 10 * MM, 10 * MM);
  ctx.fillStyle = "#ffffff";
  ctx.font = `bold ${Math.round(7 * MM)}px sans-serif`;
  ctx.fillText(letter, frame.x + 2.4 * MM, frame.y + 7.6 * MM);
}

/** The attribution of every source of the style, without its HTML. */
function attributions() {
  const sources = Object.values(state.baseStyle?.sources ?? {});
  // parsed in an inert document (nothing loads or runs) and shown as text only
  const found = sources.map((s) => s.attribution).filter(Boolean)
    .map((a) => new DOMParser().parseFromString(a, "text/html").body.textContent.trim());
  return [...new Set(found.length ? found : [t("noAttribution")])];
}

/** Write `line` at (x, y), its font made smaller until it fits `width`. */
export function fitText(ctx, line, weight, size, x, y, width) {
  let points = Math.round(size);
  ctx.font = `${weight} ${points}px sans-serif`;
  while (ctx.measureText(line).width > width && points > 12) {
    points -= 2;
    ctx.font = `${weight} ${points}px sans-serif`;
  }
  ctx.fillText(line, x, y);
}

/** Write `text` over as many lines as `width` needs; the height used. */
function wrapText(ctx, text, weight, size, x, y, width) {
  ctx.font = `${weight} ${Math.round(size)}px sans-serif`;
  const lines = [];
  for (const word of text.split(/\s+/)) {
    const last = lines.at(-1);
    if (last !== undefined && ctx.measureText(`${last} ${word}`).width <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  lines.forEach((line, i) => ctx.fillText(line, x, y + i * size * 1.25));
  return Math.round(lines.length * size * 1.25);
}


// ---- the meeting pack's links ------------------------------------------------------------------

/** The plan the report link opens: the one published last, else the newest. */
function reportPlan() {
  return state.plans.filter((p) => p.published_at)
    .sort((a, b) => b.published_at.localeCompare(a.published_at) || b.id - a.id)[0] ?? state.plans[0] ?? null;
}

/** The meeting pack: the A4 map, the village table of each run shown for Excel, the plan report
 * and the QGIS project. */
export function renderMeetingLinks() {
  const lang = document.documentElement.lang;
  const plan = reportPlan();
  const button = h("button", { type: "button", "data-testid": "meeting-map" }, t("exportPng"));
  button.addEventListener("click", () => document.getElementById("export-png").click());
  const items = [
    h("li", {}, button),
    ...state.views.filter((v) => v.runId).map((v, i) => h("li", {},
      h("a", { href: `/api/runs/${v.runId}/villages?f=csv&lang=${lang}`, download: "" },
        t("tableForExcel", { run: v.runId, letter: state.views.length > 1 ? `${"AB"[i]} ` : "" })))),
    plan ? h("li", {}, h("a", { href: `/api/plans/${plan.id}/report.html?lang=${lang}`, target: "_blank",
      rel: "noopener", "data-testid": "report-link" }, t("planReport", { id: plan.id, scenario: plan.scenario_name })))
      : h("li", {}, t("noPlan")),
    h("li", {}, h("a", { href: "/project.qgs", download: "", "data-testid": "qgis-link" }, t("qgisProject"))),
  ];
  document.getElementById("meeting-links").replaceChildren(...items);
}
