// Many small pre-drawn images blended onto one canvas in JavaScript. A canvas draws one
// marker sprite in about 10 µs (software rendering, as in headless browsers and many
// machines without a GPU), so 60,000 distinct markers took most of a second; blending their
// pixels into one buffer and putting it on the canvas once takes a tenth of that.

interface Pixels {
  width: number;
  height: number;
  /** RGBA with the colour multiplied by alpha, as source-over blending wants it, one
   * little-endian word per pixel (A in the top byte). */
  words: Uint32Array;
  /** Per row, the first and one past the last column that is not transparent. */
  spans: Int32Array;
}

/** Whether words read from RGBA bytes hold R in the low byte (every common machine); the
 * canvas draws each image itself where they do not. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const LANES = 0x00ff00ff;

/** Each 8-bit value in the two 16-bit lanes of `x` (a product of two bytes) over 255,
 * rounded. */
function div255(x: number): number {
  const t = x + 0x00800080;
  return ((t + ((t >>> 8) & LANES)) >>> 8) & LANES;
}

export class Compositor {
  private image: ImageData | null = null;
  /** The image's pixels as premultiplied words while blending. */
  private words = new Uint32Array(0);
  private width = 0;
  private height = 0;
  private readonly sources = new WeakMap<HTMLCanvasElement, Pixels>();

  /** Starts a transparent picture of `width` × `height` device pixels. */
  begin(width: number, height: number): this {
    if (!this.image || this.width !== width || this.height !== height) {
      this.width = Math.max(1, width);
      this.height = Math.max(1, height);
      this.image = new ImageData(this.width, this.height);
      this.words = new Uint32Array(this.image.data.buffer);
    } else {
      this.words.fill(0);
    }
    return this;
  }

  /** Blends `source` over the picture with its top left corner at device pixel (x, y)
   * (whole pixels), clipped to the picture. */
  add(source: HTMLCanvasElement, x: number, y: number): void {
    const src = this.pixelsOf(source);
    const y0 = Math.max(0, -y);
    const y1 = Math.min(src.height, this.height - y);
    const clipLeft = Math.max(0, -x);
    const clipRight = Math.min(src.width, this.width - x);
    const s = src.words;
    const d = this.words;
    for (let row = y0; row < y1; row++) {
      const from = Math.max(clipLeft, src.spans[2 * row]!);
      const to = Math.min(clipRight, src.spans[2 * row + 1]!);
      let i = row * src.width + from;
      let j = (y + row) * this.width + x + from;
      for (let col = from; col < to; col++, i++, j++) {
        const sp = s[i]!;
        const alpha = sp >>> 24;
        if (alpha === 0) continue;
        const dp = d[j]!;
        if (dp === 0 || alpha === 255) {
          d[j] = sp;
          continue;
        }
        // Source over, premultiplied: d = s + d × (1 − αs), red with blue and green with
        // alpha two at a time.
        const keep = 255 - alpha;
        const rb = div255(Math.imul(dp & LANES, keep));
        const ga = div255(Math.imul((dp >>> 8) & LANES, keep));
        d[j] = sp + ((rb | (ga << 8)) >>> 0);
      }
    }
  }

  /** Puts the picture on `ctx`'s canvas at its origin, replacing what was there. */
  finish(ctx: CanvasRenderingContext2D): void {
    if (!this.image) return;
    const d = this.image.data;
    // ImageData holds colours not multiplied by alpha.
    for (let j = 0; j < d.length; j += 4) {
      const alpha = d[j + 3]!;
      if (alpha === 0 || alpha === 255) continue;
      const scale = 255 / alpha;
      d[j] = d[j]! * scale;
      d[j + 1] = d[j + 1]! * scale;
      d[j + 2] = d[j + 2]! * scale;
    }
    ctx.putImageData(this.image, 0, 0);
  }

  private pixelsOf(source: HTMLCanvasElement): Pixels {
    let pixels = this.sources.get(source);
    if (!pixels) {
      pixels = premultiplied(source);
      this.sources.set(source, pixels);
    }
    return pixels;
  }
}

/** A canvas's pixels, premultiplied, with the span of each row that is not transparent. */
function premultiplied(source: HTMLCanvasElement): Pixels {
  const { width, height } = source;
  const data =
    width > 0 && height > 0 ? source.getContext("2d")?.getImageData(0, 0, width, height).data : undefined;
  if (!data) return { width: 0, height: 0, words: new Uint32Array(0), spans: new Int32Array(0) };
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3]! / 255;
    data[i] = data[i]! * alpha;
    data[i + 1] = data[i + 1]! * alpha;
    data[i + 2] = data[i + 2]! * alpha;
  }
  const spans = new Int32Array(2 * height);
  for (let row = 0; row < height; row++) {
    let from = width;
    let to = 0;
    for (let col = 0; col < width; col++) {
      if (data[(row * width + col) * 4 + 3] === 0) continue;
      from = Math.min(from, col);
      to = col + 1;
    }
    spans[2 * row] = from;
    spans[2 * row + 1] = Math.max(from, to);
  }
  return { width, height, words: new Uint32Array(data.buffer, data.byteOffset, width * height), spans };
}
