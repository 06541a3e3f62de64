// The layer list with its legend: one entry per published layer, each class with its swatch.
import { $, state } from "./state.js";
import { h } from "./dom.js";
import { listedStyle } from "./views.js";
import { markerSvg } from "./shapes.js";

// ---- layer list with legend --------------------------------------------------------------------

/** The style's layers grouped by source (one published layer each), top-most first. */
export function layerGroups() {
  const groups = new Map();
  for (const layer of listedStyle().layers) {
    if (!layer.metadata?.group) continue;
    if (!groups.has(layer.source)) groups.set(layer.source, { title: layer.metadata.group, layers: [] });
    groups.get(layer.source).layers.push(layer);
  }
  return [...groups.entries()].reverse();
}

/** One legend entry per class label, its swatch drawn from the class's paint. */
export function legend(layers) {
  const classes = new Map();
  for (const layer of layers) {
    const label = layer.metadata.label;
    classes.set(label, [...(classes.get(label) ?? []), layer]);
  }
  return [...classes.entries()].map(([label, parts]) => ({ label, swatch: swatch(parts), layers: parts }));
}

export function swatch(parts) {
  const marker = parts.find((layer) => layer.metadata?.marker)?.metadata.marker;
  if (marker) return { shape: "marker", marker };
  const of = (type) => parts.find((layer) => layer.type === type)?.paint;
  const fill = of("fill"), line = of("line"), circle = of("circle");
  if (circle) return { shape: "point", fill: circle["circle-color"], stroke: circle["circle-stroke-color"] };
  if (fill) {
    return { shape: "area", fill: fill["fill-color"], opacity: fill["fill-opacity"] ?? 1,
      stroke: line?.["line-color"] };
  }
  return { shape: "line", fill: line["line-color"] };
}

export function swatchElement({ shape, fill, opacity = 1, stroke, marker }) {
  if (shape === "marker") return markerSvg(marker, 16);
  const el = h("span", { class: `swatch ${shape}`, "aria-hidden": "true" });
  el.style.background = `color-mix(in srgb, ${fill} ${Math.round(opacity * 100)}%, transparent)`;
  if (stroke) el.style.borderColor = stroke;
  return el;
}

export function renderLayers() {
  $("layers").replaceChildren(...layerGroups().map(([source, group]) => {
    const shown = group.layers.some((layer) => layer.layout?.visibility !== "none");
    const box = h("input", { type: "checkbox", "data-source": source, checked: shown });
    // the legend of a hidden layer is folded away: the list stays short enough to read
    const classes = h("ul", { class: "legend", hidden: !shown },
      legend(group.layers).map(({ label, swatch: s }) => h("li", {}, swatchElement(s), label)));
    box.addEventListener("change", () => {
      classes.hidden = !box.checked;
      setVisible(source, box.checked);
    });
    return h("div", { class: "layer" }, h("label", { class: "layer-title" }, box, " ", group.title), classes);
  }));
}

export function setVisible(source, shown) {
  state.visible[source] = shown;
  const ids = listedStyle().layers.filter((layer) => layer.source === source).map((layer) => layer.id);
  for (const { map } of state.views) {
    for (const id of ids.filter((i) => map.getLayer(i))) map.setLayoutProperty(id, "visibility", shown ? "visible" : "none");
  }
}
