// Per-address markers on the marker canvas: colour by outcome, area by event count,
// and hit-testing for clicks.

import type { KnockEvent, LatLon, MarkerData, MarkersResponse, Outcome } from "./api";
import { hasLocation, weight } from "./api";
import type { WorldMap } from "./map";

export const COLORS = {
  failure: "#ff3b5c",
  success: "#3ddc84",
  probe: "#8c96a8",
  home: "#4cc9f0",
} as const;

export interface Marker extends MarkerData {
  /** Projected centre in CSS px relative to the map, refreshed on every draw. */
  x: number;
  y: number;
  visible: boolean;
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

  constructor(private readonly map: WorldMap) {
    map.onResize(() => this.draw());
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
      this.byIp.set(m.ip, { ...m, x: 0, y: 0, visible: false });
      if (m.country_code) this.countries.add(m.country_code);
    }
    for (const u of data.unlocated ?? []) this.unlocated.add(u.ip);
    this.orderDirty = true;
    this.scheduleDraw();
  }

  setHomes(homes: LatLon[]): void {
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
        last_seen: e.ts,
        sensor: e.sensor ?? null,
        x: 0,
        y: 0,
        visible: false,
      };
      this.byIp.set(e.ip, m);
    }
    // The newest location wins (the geo database may have been updated).
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
    if (!m.last_seen || Date.parse(e.ts) > Date.parse(m.last_seen)) m.last_seen = e.ts;
    this.orderDirty = true;
    this.scheduleDraw();
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

  scheduleDraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  draw(): void {
    const { ctx } = this.map.markers;
    ctx.clearRect(0, 0, this.map.width, this.map.height);
    if (this.orderDirty) {
      // Big dots first so that small ones stay visible (and clickable) on top.
      this.drawOrder = [...this.byIp.values()].sort((a, b) => b.events - a.events);
      this.orderDirty = false;
    }
    for (const m of this.drawOrder) {
      const p = this.map.project(m.lon, m.lat);
      m.visible = !!p;
      if (!p) continue;
      [m.x, m.y] = p;
      const r = radius(m.events);
      const color = COLORS[markerOutcome(m)];
      ctx.beginPath();
      ctx.arc(m.x, m.y, r, 0, Math.PI * 2);
      ctx.globalAlpha = 0.22;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.globalAlpha = 0.9;
      ctx.lineWidth = 1.25;
      ctx.strokeStyle = color;
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(m.x, m.y, Math.min(r, 1.6), 0, Math.PI * 2);
      ctx.globalAlpha = 1;
      ctx.fill();
    }
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
