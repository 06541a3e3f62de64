// The point markers' shapes, as the server's sprite draws them (gis_service/api/sprites.py):
// polygons in a unit square centred on 0, y pointing down. The legends draw them from here.

const regular = (n, radius = 1, turn = 0) => Array.from({ length: n }, (_, k) => [
  radius * Math.sin(2 * Math.PI * (k / n + turn)), -radius * Math.cos(2 * Math.PI * (k / n + turn))]);

export const SHAPES = {
  square: [[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]],
  triangle: [[0, -1], [0.9, 0.7], [-0.9, 0.7]],
  diamond: [[0, -1], [1, 0], [0, 1], [-1, 0]],
  star: regular(5).flatMap((p, k) => [p, regular(5, 0.45, 0.1)[k]]),
  pentagon: regular(5),
  cross: [[-0.32, -1], [0.32, -1], [0.32, -0.32], [1, -0.32], [1, 0.32], [0.32, 0.32], [0.32, 1], [-0.32, 1],
    [-0.32, 0.32], [-1, 0.32], [-1, -0.32], [-0.32, -0.32]],
};

/** An inline SVG of a marker (for the layer list), `size` CSS pixels across. */
export function markerSvg({ shape, fill, stroke }, size) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "-1.15 -1.15 2.3 2.3");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("marker");
  const polygon = document.createElementNS(ns, "polygon");
  polygon.setAttribute("points", SHAPES[shape].map(([x, y]) => `${x},${y}`).join(" "));
  polygon.setAttribute("fill", fill);
  polygon.setAttribute("stroke", stroke);
  polygon.setAttribute("stroke-width", "0.12");
  svg.append(polygon);
  return svg;
}

/** The marker drawn on a 2D canvas in the square (x, y, size). */
export function drawMarker(ctx, { shape, fill, stroke }, x, y, size) {
  const half = size / 2.3;
  ctx.beginPath();
  SHAPES[shape].forEach(([px, py], i) => ctx[i ? "lineTo" : "moveTo"](x + size / 2 + px * half, y + size / 2 + py * half));
  ctx.closePath();
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.strokeStyle = stroke;
  ctx.lineWidth = Math.max(1, size / 14);
  ctx.stroke();
}
