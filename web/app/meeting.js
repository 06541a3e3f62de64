// The image of the maps for a meeting.
import { t } from "./i18n.js";
import { selectedRun } from "./summary.js";
import { $, RUN_SOURCE, state } from "./state.js";
import { h } from "./dom.js";
import { layerGroups, legend, swatch } from "./layers.js";

// ---- PNG export --------------------------------------------------------------------------------

/** The maps as drawn (side by side when comparing) under a title, with the run layer's legend. */
export function exportPng() {
  const canvases = state.views.map((view) => view.map.getCanvas());
  const ratio = canvases[0].width / canvases[0].clientWidth; // canvas pixels per CSS pixel
  const px = (n) => Math.round(n * ratio);
  const title = px(56);
  const out = h("canvas");
  out.width = canvases.reduce((sum, c) => sum + c.width, 0);
  out.height = title + Math.max(...canvases.map((c) => c.height));
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = "#111111";
  fitText(ctx, t("title"), "bold", 18, px, out.width, px(22));
  fitText(ctx, [$("map-caption").textContent, $("map-compare-caption").textContent].filter(Boolean).join("  |  "),
    "", 14, px, out.width, px(44));
  let x = 0;
  for (const canvas of canvases) {
    ctx.drawImage(canvas, x, title);
    x += canvas.width;
  }
  const [, run] = layerGroups().find(([source]) => source === RUN_SOURCE) ?? [];
  if (run) {
    const entries = legend(run.layers);
    const row = px(20);
    ctx.font = `${px(13)}px sans-serif`;
    const width = px(24) + Math.max(...entries.map((e) => ctx.measureText(e.label).width));
    const top = out.height - px(10) - row * entries.length - px(8);
    ctx.fillStyle = "rgba(255,255,255,0.9)";
    ctx.fillRect(px(10), top, width + px(16), row * entries.length + px(8));
    entries.forEach(({ label, swatch: s }, i) => {
      const y = top + px(4) + i * row;
      ctx.fillStyle = s.fill;
      ctx.fillRect(px(16), y + px(3), px(14), px(14));
      ctx.fillStyle = "#111111";
      ctx.fillText(label, px(36), y + px(15));
    });
  }
  h("a", { href: out.toDataURL("image/png"), download: `peta-sanitasi-run-${selectedRun() ?? "none"}.png` }).click();
}

/** Write one line at (12, y), its font made smaller until the line fits the width. */
export function fitText(ctx, line, weight, size, px, width, y) {
  let points = size;
  ctx.font = `${weight} ${px(points)}px sans-serif`;
  while (ctx.measureText(line).width > width - px(24) && points > 8) {
    points -= 1;
    ctx.font = `${weight} ${px(points)}px sans-serif`;
  }
  ctx.fillText(line, px(12), y);
}
