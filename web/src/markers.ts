// Per-address markers on the marker canvas: colour by outcome, area by event count,
// and hit-testing for clicks; or, in the heatmap view, the same addresses as heat.
//
// With 100,000 addresses a full drawing takes longer than a frame. So while the map pans and
// zooms the canvas is only moved and scaled as a whole (a CSS transform: the compositor's
// work, not the page's), and drawn anew once the map rests; a live event draws its one
// marker on top, and the drawing order is fixed by a full drawing at most every few seconds.
// Each marker is a copy of a small pre-drawn bitmap, and a marker identical to one already on
// the same pixel is not drawn again.

import type { KnockEvent, LatLon, MarkerData, MarkersResponse, Outcome } from "./api";
import { hasLocation, weight } from "./api";
import { Compositor, LITTLE_ENDIAN } from "./composite";
import { movedBy, type WorldMap, type Zoom } from "./map";

export const COLORS = {
  failure: "#ff3b5c",
  success: "#3ddc84",
  probe: "#8c96a8",
  home: "#4cc9f0",
  starred: "#ffcc33",
  alert: "#f4a261",
} as const;

/** How the addresses are drawn. */
export type View = "markers" | "heat";

/** Radius of one address's heat, in CSS px. */
const HEAT_RADIUS = 18;
/** Full drawings for live events at most this often (they fix the drawing order). */
const LIVE_REDRAW_MS = 2_000;

export interface Marker extends MarkerData {
  /** Projected centre in CSS px relative to the map, refreshed on every draw. */
  x: number;
  y: number;
  visible: boolean;
  /** Projected centre at zoom 1 (the zoom is linear in projected coordinates), valid while
   * `baseOf` is the layer's projection generation. */
  bx: number;
  by: number;
  baseOf: number;
}

/** Marker radius in px: area proportional to the event count, capped. */
export function radius(events: number): number {
  return Math.max(2, Math.min(12, 2 * Math.sqrt(Math.max(1, events))));
}

export function markerOutcome(m: Pick<MarkerData, "successes" | "failures">): Outcome {
  if (m.successes > 0) return "success";
  if (m.failures > 0) return "failure";
  return "probe";
}

export class MarkerLayer {
  private readonly byIp = new Map<string, Marker>();
  private readonly unlocated = new Set<string>();
  private readonly countries = new Set<string>();
  private homes: LatLon[] = [];
  private drawOrder: Marker[] = [];
  private orderDirty = true;
  private frame = 0;
  private view: View = "markers";
  private heat: HeatCanvas | null = null;
  /** The zoom the canvas was last drawn at. */
  private drawnAt: Zoom | null = null;
  /** Markers changed by live events since the last drawing. */
  private readonly changed = new Set<Marker>();
  private fullNeeded = true;
  private lastFull = 0;
  private liveRedraw = 0;
  private markedFirstDrawing = false;
  private readonly sprites = new Sprites();
  /** Bumped when the projection at zoom 1 changes (a resize): every marker's base is stale. */
  private projectionGeneration = 1;
  /** The zoom of the drawing under way, read once per drawing. */
  private zoom: Zoom = { k: 1, x: 0, y: 0 };
  /** Per pixel of the drawing (with a 32 px margin), the sprite drawn there last + 1. */
  private spriteAt = new Uint16Array(0);
  private readonly compositor = new Compositor();

  constructor(private readonly map: WorldMap) {
    map.onResize(() => {
      this.projectionGeneration++;
      this.draw();
    });
    // Pan or zoom: move the last drawing now, draw anew when the map rests.
    map.onZoom(() => {
      if (this.drawnAt) this.map.markers.canvas.style.transform = movedBy(this.drawnAt, this.map.transform);
    });
    map.onRest(() => this.scheduleDraw());
  }

  get currentView(): View {
    return this.view;
  }

  setView(view: View): void {
    this.view = view;
    this.scheduleDraw();
  }

  get unlocatedCount(): number {
    return this.unlocated.size;
  }

  get countryCount(): number {
    return this.countries.size;
  }

  /** True when the address has been seen before (located or not). */
  knows(ip: string): boolean {
    return this.byIp.has(ip) || this.unlocated.has(ip);
  }

  knowsCountry(code: string): boolean {
    return this.countries.has(code);
  }

  get(ip: string): Marker | undefined {
    return this.byIp.get(ip);
  }

  /** Every located address. */
  all(): IterableIterator<Marker> {
    return this.byIp.values();
  }

  /** Replace everything with a fresh /api/v1/markers answer. */
  reset(data: MarkersResponse): void {
    this.byIp.clear();
    this.unlocated.clear();
    this.countries.clear();
    for (const m of data.markers) {
      if (!Number.isFinite(m.lat) || !Number.isFinite(m.lon)) {
        this.unlocated.add(m.ip);
        continue;
      }
      // The answer's objects become the markers (no copy: there may be 100,000).
      const marker = m as Marker;
      marker.x = 0;
      marker.y = 0;
      marker.visible = false;
      marker.bx = 0;
      marker.by = 0;
      marker.baseOf = 0;
      this.byIp.set(m.ip, marker);
      if (m.country_code) this.countries.add(m.country_code);
    }
    for (const u of data.unlocated ?? []) this.unlocated.add(u.ip);
    this.orderDirty = true;
    this.scheduleDraw();
  }

  setHomes(homes: LatLon[]): void {
    // The same homes come with every live hello: drawing 100,000 markers again for them
    // would keep the page busy for a good part of a second.
    const same =
      homes.length === this.homes.length &&
      homes.every((h, i) => h.lat === this.homes[i]!.lat && h.lon === this.homes[i]!.lon);
    if (same) return;
    this.homes = homes;
    this.scheduleDraw();
  }

  /** Fold one live event into its address's marker. Returns the marker when located. */
  apply(e: KnockEvent): Marker | null {
    if (!e.ip) return null;
    const n = weight(e);
    if (!hasLocation(e.geo)) {
      if (!this.byIp.has(e.ip)) this.unlocated.add(e.ip);
      return null;
    }
    let m = this.byIp.get(e.ip);
    if (!m) {
      this.unlocated.delete(e.ip);
      m = {
        ip: e.ip,
        lat: e.geo.lat,
        lon: e.geo.lon,
        country_code: e.geo.country_code ?? null,
        events: 0,
        failures: 0,
        successes: 0,
        probes: 0,
        lastSeen: Date.parse(e.ts),
        sensor: e.sensor ?? null,
        x: 0,
        y: 0,
        visible: false,
        bx: 0,
        by: 0,
        baseOf: 0,
      };
      this.byIp.set(e.ip, m);
    }
    // The newest location wins (the geo database may have been updated).
    if (m.lat !== e.geo.lat || m.lon !== e.geo.lon) m.baseOf = 0;
    m.lat = e.geo.lat;
    m.lon = e.geo.lon;
    if (e.geo.country_code) {
      m.country_code = e.geo.country_code;
      this.countries.add(e.geo.country_code);
    }
    m.events = typeof e.ip_events === "number" ? Math.max(e.ip_events, m.events + n) : m.events + n;
    if (e.outcome === "success") m.successes += n;
    else if (e.outcome === "failure") m.failures += n;
    else m.probes += n;
    const at = Date.parse(e.ts);
    if (!(m.lastSeen >= at)) m.lastSeen = at;
    this.orderDirty = true;
    this.changed.add(m);
    this.scheduleUpdate();
    return m;
  }

  /** Client coordinates of a marker's centre, or null when it is not on the map. */
  screenPosition(ip: string): { x: number; y: number } | null {
    const m = this.byIp.get(ip);
    if (!m) return null;
    const p = this.map.project(m.lon, m.lat);
    if (!p) return null;
    const o = this.map.origin();
    return { x: o.left + p[0], y: o.top + p[1] };
  }

  /** The marker whose centre is nearest to (x, y) in map px, within its radius + slack. */
  hitTest(x: number, y: number, slack = 4): Marker | null {
    let best: Marker | null = null;
    let bestDist = Infinity;
    for (const m of this.byIp.values()) {
      if (!m.visible) continue;
      const d = Math.hypot(m.x - x, m.y - y);
      if (d <= radius(m.events) + slack && d < bestDist) {
        best = m;
        bestDist = d;
      }
    }
    return best;
  }

  /** A full drawing at the next frame. */
  scheduleDraw(): void {
    this.fullNeeded = true;
    this.requestFrame();
  }

  /** Live changes at the next frame: drawn on top, with a full drawing now and then. */
  private scheduleUpdate(): void {
    this.requestFrame();
    if (!this.liveRedraw) {
      const wait = Math.max(0, this.lastFull + LIVE_REDRAW_MS - performance.now());
      this.liveRedraw = window.setTimeout(() => {
        this.liveRedraw = 0;
        this.scheduleDraw();
      }, wait);
    }
  }

  private requestFrame(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const t = this.map.transform;
      const at = this.drawnAt;
      const moved = !at || t.k !== at.k || t.x !== at.x || t.y !== at.y;
      if (this.fullNeeded) {
        this.draw();
        return;
      }
      if (moved) return; // the drawing when the map rests includes them
      // Heat is summed over all addresses; it waits for the next full drawing.
      if (this.view === "heat") return;
      const { ctx } = this.map.markers;
      this.zoom = t;
      for (const m of this.changed) this.drawMarker(ctx, m);
      this.changed.clear();
    });
  }

  /** Draws everything at the current zoom. */
  draw(): void {
    window.clearTimeout(this.liveRedraw);
    this.liveRedraw = 0;
    this.fullNeeded = false;
    this.changed.clear();
    this.lastFull = performance.now();
    this.zoom = this.map.transform;
    const { ctx, canvas } = this.map.markers;
    ctx.clearRect(0, 0, this.map.width, this.map.height);
    if (this.view === "heat") this.drawHeat(ctx);
    else this.drawMarkers(ctx);
    this.drawHomes(ctx);
    this.drawnAt = { ...this.zoom };
    canvas.style.transform = "";
    if (!this.markedFirstDrawing && this.byIp.size > 0) {
      // For the browser's performance timeline (and the rendering benchmark).
      this.markedFirstDrawing = true;
      performance.mark("knockmap:first-markers", { detail: { markers: this.byIp.size } });
      // Drawn in an animation frame: a task queued now runs once that frame is painted.
      setTimeout(() => performance.mark("knockmap:first-markers-painted"), 0);
    }
  }

  private drawMarkers(ctx: CanvasRenderingContext2D): void {
    if (this.orderDirty) {
      // Big dots first so that small ones stay visible (and clickable) on top.
      this.drawOrder = [...this.byIp.values()].sort((a, b) => b.events - a.events);
      this.orderDirty = false;
    }
    // Addresses geolocated to the same place (a city's coordinates) would be drawn on the
    // same pixel with the same look many times over: once is enough, unless another look
    // was drawn there in between.
    const width = Math.ceil(this.map.width) + 64;
    const size = width * (Math.ceil(this.map.height) + 64);
    if (this.spriteAt.length !== size) this.spriteAt = new Uint16Array(size);
    else this.spriteAt.fill(0);
    const picture = LITTLE_ENDIAN ? this.compositor.begin(ctx.canvas.width, ctx.canvas.height) : undefined;
    for (const m of this.drawOrder) this.drawMarker(ctx, m, width, picture);
    picture?.finish(ctx);
  }

  /** Draws one marker; in a full drawing (the pixel row `width` and the picture being
   * blended), not when the same sprite was the last drawn on that pixel. */
  private drawMarker(ctx: CanvasRenderingContext2D, m: Marker, width = 0, picture?: Compositor): void {
    const r = radius(m.events);
    if (!this.place(m, r + 5)) return;
    const color = m.starred ? COLORS.starred : COLORS[markerOutcome(m)];
    // A login that worked after failures: an alert ring, not only a colour.
    const alert = m.successes > 0 && m.failures > 0;
    const sprite = this.sprites.get(color, r, alert, this.map.dpr);
    if (width > 0) {
      const pixel = (Math.round(m.y) + 32) * width + Math.round(m.x) + 32;
      const stamp = (sprite.id % 65_535) + 1;
      if (this.spriteAt[pixel] === stamp) return;
      this.spriteAt[pixel] = stamp;
    }
    if (picture) {
      const dpr = this.map.dpr;
      picture.add(sprite.canvas, Math.round((m.x - sprite.half) * dpr), Math.round((m.y - sprite.half) * dpr));
      return;
    }
    ctx.drawImage(sprite.canvas, m.x - sprite.half, m.y - sprite.half, sprite.size, sprite.size);
  }

  /** Places a marker at the zoom of the drawing under way; false (and not visible) when it
   * is off the screen. The projection runs once per marker and size of the map, not once
   * per drawing. */
  private place(m: Marker, r: number): boolean {
    const z = this.zoom;
    if (m.baseOf !== this.projectionGeneration) {
      const p = this.map.project(m.lon, m.lat);
      m.bx = p ? (p[0] - z.x) / z.k : NaN;
      m.by = p ? (p[1] - z.y) / z.k : NaN;
      m.baseOf = this.projectionGeneration;
    }
    const x = z.k * m.bx + z.x;
    const y = z.k * m.by + z.y;
    // NaN (not on the map) fails every comparison.
    m.visible = x >= -r && y >= -r && x <= this.map.width + r && y <= this.map.height + r;
    if (!m.visible) return false;
    m.x = x;
    m.y = y;
    return true;
  }

  /** The heatmap view: every address as a soft spot weighted by the log of its events
   * (a linear weight would let a few loud addresses saturate the scale), coloured by the
   * heat summed under each pixel. */
  private drawHeat(ctx: CanvasRenderingContext2D): void {
    const { width, height, dpr } = this.map;
    this.heat ??= new HeatCanvas();
    let max = 1;
    for (const m of this.byIp.values()) max = Math.max(max, m.events);
    const scale = Math.log1p(max);
    const heat = this.heat.begin(Math.round(width * dpr), Math.round(height * dpr), HEAT_RADIUS * dpr);
    for (const m of this.byIp.values()) {
      if (!this.place(m, HEAT_RADIUS)) continue;
      heat.add(m.x * dpr, m.y * dpr, 0.1 + (0.6 * Math.log1p(m.events)) / scale);
    }
    heat.finish();
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(heat.canvas, 0, 0);
    ctx.restore();
  }

  private drawHomes(ctx: CanvasRenderingContext2D): void {
    for (const h of this.homes) {
      const p = this.map.project(h.lon, h.lat);
      if (!p) continue;
      ctx.globalAlpha = 1;
      ctx.strokeStyle = COLORS.home;
      ctx.fillStyle = COLORS.home;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(p[0], p[1], 6, 0, Math.PI * 2);
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(p[0], p[1], 2.5, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }
}

/** An offscreen canvas where heat is summed as alpha, then coloured through a palette. */
class HeatCanvas {
  readonly canvas = document.createElement("canvas");
  private readonly ctx: CanvasRenderingContext2D;
  private stamp = document.createElement("canvas");
  private stampRadius = 0;
  private readonly palette = heatPalette();

  constructor() {
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) throw new Error("canvas 2D context unavailable");
    this.ctx = ctx;
  }

  begin(width: number, height: number, radius: number): this {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    if (this.stampRadius !== radius) this.makeStamp(radius);
    this.ctx.clearRect(0, 0, width, height);
    return this;
  }

  add(x: number, y: number, weight: number): void {
    this.ctx.globalAlpha = Math.min(1, weight);
    this.ctx.drawImage(this.stamp, x - this.stampRadius, y - this.stampRadius);
  }

  finish(): void {
    this.ctx.globalAlpha = 1;
    const { width, height } = this.canvas;
    const image = this.ctx.getImageData(0, 0, width, height);
    const px = image.data;
    const pal = this.palette;
    for (let i = 3; i < px.length; i += 4) {
      const a = px[i]!;
      if (a === 0) continue;
      const o = a * 4;
      px[i - 3] = pal[o]!;
      px[i - 2] = pal[o + 1]!;
      px[i - 1] = pal[o + 2]!;
      px[i] = pal[o + 3]!;
    }
    this.ctx.putImageData(image, 0, 0);
  }

  private makeStamp(radius: number): void {
    const size = Math.ceil(radius * 2);
    this.stamp.width = size;
    this.stamp.height = size;
    const ctx = this.stamp.getContext("2d");
    if (!ctx) return;
    const g = ctx.createRadialGradient(radius, radius, 0, radius, radius, radius);
    g.addColorStop(0, "rgba(0,0,0,1)");
    g.addColorStop(1, "rgba(0,0,0,0)");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, size, size);
    this.stampRadius = radius;
  }
}

/** 256 RGBA colours from faint blue (little heat) through green and yellow to red. */
function heatPalette(): Uint8ClampedArray {
  const canvas = document.createElement("canvas");
  canvas.width = 256;
  canvas.height = 1;
  const ctx = canvas.getContext("2d");
  if (!ctx) return new Uint8ClampedArray(256 * 4);
  const g = ctx.createLinearGradient(0, 0, 256, 0);
  g.addColorStop(0, "rgba(40,80,255,0)");
  g.addColorStop(0.15, "rgba(40,120,255,0.55)");
  g.addColorStop(0.4, "rgba(40,220,200,0.75)");
  g.addColorStop(0.6, "rgba(120,230,60,0.85)");
  g.addColorStop(0.8, "rgba(255,210,40,0.92)");
  g.addColorStop(1, "rgba(255,40,60,1)");
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, 256, 1);
  return ctx.getImageData(0, 0, 256, 1).data;
}

/** A marker drawn once per colour, size and alert ring, then copied for every address:
 * copying a small bitmap is many times faster than stroking a path, which is what lets
 * 100,000 markers draw in a fraction of a second. */
interface Sprite {
  /** A small number naming the sprite. */
  id: number;
  canvas: HTMLCanvasElement;
  /** Size and half size in CSS px. */
  size: number;
  half: number;
}

class Sprites {
  /** By a number made of the colour's index, the radius in quarter pixels and the ring: no
   * string is built per marker. */
  private readonly cache = new Map<number, Sprite>();
  private readonly colors: string[] = [];
  private dpr = 0;

  get(color: string, r: number, alert: boolean, dpr: number): Sprite {
    if (dpr !== this.dpr) {
      this.cache.clear();
      this.dpr = dpr;
    }
    // Radii in quarter pixels: at most 41 sizes per colour.
    const quarters = Math.round(r * 4);
    let colorIndex = this.colors.indexOf(color);
    if (colorIndex < 0) colorIndex = this.colors.push(color) - 1;
    const key = (colorIndex * 1024 + quarters) * 2 + (alert ? 1 : 0);
    let sprite = this.cache.get(key);
    if (!sprite) {
      sprite = { id: this.cache.size, ...drawSprite(color, quarters / 4, alert, dpr) };
      this.cache.set(key, sprite);
    }
    return sprite;
  }
}

function drawSprite(color: string, r: number, alert: boolean, dpr: number): Omit<Sprite, "id"> {
  const half = Math.ceil(r + (alert ? 6 : 2));
  const size = half * 2;
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(size * dpr);
  canvas.height = Math.ceil(size * dpr);
  const ctx = canvas.getContext("2d");
  if (!ctx) return { canvas, size, half };
  ctx.scale(dpr, dpr);
  ctx.beginPath();
  ctx.arc(half, half, r, 0, Math.PI * 2);
  ctx.globalAlpha = 0.22;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 0.9;
  ctx.lineWidth = 1.25;
  ctx.strokeStyle = color;
  ctx.stroke();
  ctx.beginPath();
  ctx.arc(half, half, Math.min(r, 1.6), 0, Math.PI * 2);
  ctx.globalAlpha = 1;
  ctx.fill();
  if (alert) {
    ctx.beginPath();
    ctx.arc(half, half, r + 4, 0, Math.PI * 2);
    ctx.strokeStyle = COLORS.alert;
    ctx.lineWidth = 2;
    ctx.setLineDash([3, 2]);
    ctx.stroke();
  }
  return { canvas, size, half };
}
