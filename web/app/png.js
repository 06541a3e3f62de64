// PNG chunks a browser's canvas does not write: pHYs (the resolution, so a print dialog sizes an
// A4 page at 300 dpi as A4) and tEXt "Title" (what the image shows). PNG specification, 11.3.5.3
// and 11.3.4.3: each chunk is length, type, data and the CRC-32 of type and data.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** The PNG `blob` with its resolution in dots per inch and a Latin-1 title (other characters
 * become "?", as tEXt allows Latin-1 only). */
export async function pngWithMetadata(blob, { dpi, title }) {
  const png = new Uint8Array(await blob.arrayBuffer());
  const perMetre = Math.round(dpi / 0.0254);
  const phys = new Uint8Array(9);
  const view = new DataView(phys.buffer);
  view.setUint32(0, perMetre);
  view.setUint32(4, perMetre);
  phys[8] = 1; // unit: metre
  const latin1 = Uint8Array.from(`Title\0${title}`, (ch) => (ch.charCodeAt(0) < 256 ? ch.charCodeAt(0) : 63));
  const afterHeader = 8 + 25; // signature, then IHDR (length, type, 13 bytes, CRC)
  return new Blob([png.subarray(0, afterHeader), chunk("pHYs", phys), chunk("tEXt", latin1),
    png.subarray(afterHeader)], { type: "image/png" });
}
