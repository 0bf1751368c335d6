// The demo's app icons, drawn at build time: a white storage jar with three rows of features on the accent colour,
// encoded as RGBA PNGs with node:zlib (no image library, nothing committed in binary form).
import { deflateSync } from 'node:zlib';

/** The demo's accent colour (demo/style.css `--accent`), used for the icon and the manifest's theme colour. */
export const ICON_COLOUR = '#2f6f9f';

/** An icon to draw: its edge in pixels and whether it is maskable (full bleed, drawing inside the safe zone). */
export interface IconSpec {
  size: number;
  maskable: boolean;
}

type Rgb = readonly [number, number, number];

interface RoundedBox {
  /** Centre and half-extent, in units of the icon's edge (0–1). */
  cx: number;
  cy: number;
  hx: number;
  hy: number;
  radius: number;
  colour: Rgb;
}

const WHITE: Rgb = [255, 255, 255];

function parseColour(hex: string): Rgb {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (match === null) throw new Error(`Not a #rrggbb colour: ${hex}`);
  return [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)];
}

const ACCENT = parseColour(ICON_COLOUR);

/** The jar, in icon units: lid, body, and three accent rows standing for a feature group's rows. */
const GLYPH: readonly RoundedBox[] = [
  { cx: 0.5, cy: 0.265, hx: 0.2, hy: 0.05, radius: 0.03, colour: WHITE },
  { cx: 0.5, cy: 0.575, hx: 0.25, hy: 0.235, radius: 0.07, colour: WHITE },
  { cx: 0.5, cy: 0.48, hx: 0.16, hy: 0.03, radius: 0.02, colour: ACCENT },
  { cx: 0.5, cy: 0.575, hx: 0.16, hy: 0.03, radius: 0.02, colour: ACCENT },
  { cx: 0.5, cy: 0.67, hx: 0.16, hy: 0.03, radius: 0.02, colour: ACCENT },
];

/** Signed distance from (x, y) to a rounded box (negative inside), all in pixels. */
function roundedBoxDistance(x: number, y: number, cx: number, cy: number, hx: number, hy: number, radius: number): number {
  const qx = Math.abs(x - cx) - (hx - radius);
  const qy = Math.abs(y - cy) - (hy - radius);
  const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0));
  return outside + Math.min(Math.max(qx, qy), 0) - radius;
}

/** Pixel coverage of a shape from its signed distance at the pixel's centre: a one-pixel antialiased edge. */
function coverage(distance: number): number {
  return Math.min(1, Math.max(0, 0.5 - distance));
}

/** Draws the icon as straight (non-premultiplied) RGBA pixels, row by row. */
export function drawIcon({ size, maskable }: IconSpec): Uint8Array {
  if (!Number.isInteger(size) || size < 16 || size > 4096) throw new RangeError(`Icon size must be an integer in 16–4096, got ${size}.`);
  const pixels = new Uint8Array(size * size * 4);
  // A maskable icon may be cropped to a circle of 80 % of its edge: the background fills the square and the jar
  // shrinks into the safe zone. The plain icon is a rounded square with transparent corners.
  const scale = maskable ? 0.8 : 1;
  const boxes = GLYPH.map((b) => ({
    cx: (0.5 + (b.cx - 0.5) * scale) * size,
    cy: (0.5 + (b.cy - 0.5) * scale) * size,
    hx: b.hx * scale * size,
    hy: b.hy * scale * size,
    radius: b.radius * scale * size,
    colour: b.colour,
  }));
  const half = size / 2;
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      const x = column + 0.5;
      const y = row + 0.5;
      const background = maskable ? 1 : coverage(roundedBoxDistance(x, y, half, half, half, half, size * 0.22));
      let [r, g, b] = ACCENT;
      for (const box of boxes) {
        const a = coverage(roundedBoxDistance(x, y, box.cx, box.cy, box.hx, box.hy, box.radius));
        if (a === 0) continue;
        r += (box.colour[0] - r) * a;
        g += (box.colour[1] - g) * a;
        b += (box.colour[2] - b) * a;
      }
      const at = (row * size + column) * 4;
      pixels[at] = Math.round(r);
      pixels[at + 1] = Math.round(g);
      pixels[at + 2] = Math.round(b);
      pixels[at + 3] = Math.round(background * 255);
    }
  }
  return pixels;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes square RGBA pixels as a PNG (8 bits per channel, colour type 6, no filtering). */
export function encodePng(pixels: Uint8Array, size: number): Uint8Array {
  if (pixels.length !== size * size * 4) throw new RangeError(`Expected ${size * size * 4} bytes of RGBA, got ${pixels.length}.`);
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, size);
  view.setUint32(4, size);
  header.set([8, 6, 0, 0, 0], 8); // bit depth, colour type RGBA, compression, filter method, no interlace
  const stride = size * 4;
  const raw = new Uint8Array((stride + 1) * size);
  for (let row = 0; row < size; row++) {
    raw[row * (stride + 1)] = 0; // filter type None
    raw.set(pixels.subarray(row * stride, (row + 1) * stride), row * (stride + 1) + 1);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    png.set(part, offset);
    offset += part.length;
  }
  return png;
}

const drawn = new Map<string, Uint8Array>();

/** The icon as PNG bytes (drawn once per build process). */
export function iconPng(spec: IconSpec): Uint8Array {
  const key = `${spec.size}:${spec.maskable}`;
  let png = drawn.get(key);
  if (png === undefined) {
    png = encodePng(drawIcon(spec), spec.size);
    drawn.set(key, png);
  }
  return png;
}
