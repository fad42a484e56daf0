// Comet-style great-circle arcs from an attacker to the home (or sensor) location, a short
// ripple at the attacker, and a slow pulse around every address hit in the last minute.
// Drawn on the top canvas while any is running.

import { geoInterpolate, geoPath } from "d3-geo";
import type { LatLon, Outcome } from "./api";
import type { WorldMap } from "./map";
import { COLORS } from "./markers";

const DURATION_MS = 1200;
const RIPPLE_MS = 900;
const TAIL = 0.3; // fraction of the arc the comet's tail covers
const TAIL_STEPS = 10;
const MAX_ACTIVE = 150;
/** How long an address pulses after it was hit, and one pulse's length. */
const PULSE_FOR_MS = 60_000;
const PULSE_PERIOD_MS = 2_000;
/** The most recently hit addresses that pulse at once. */
const MAX_PULSES = 300;

interface Pulse {
  at: LatLon;
  color: string;
  /** When it was last hit. */
  since: number;
}

interface Arc {
  from: LatLon;
  to: LatLon | null;
  color: string;
  start: number;
  interp: ((t: number) => [number, number]) | null;
}

export class ArcLayer {
  private readonly active: Arc[] = [];
  /** By address, oldest hit first. */
  private readonly pulses = new Map<string, Pulse>();
  private frame = 0;
  private readonly reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  constructor(private readonly map: WorldMap) {}

  /** Animates one event's arc; does nothing when the user prefers reduced motion. */
  launch(from: LatLon, to: LatLon | null, outcome: Outcome): void {
    if (this.reducedMotion.matches || document.hidden) return;
    if (this.active.length >= MAX_ACTIVE) this.active.shift();
    const interp =
      to && (to.lat !== from.lat || to.lon !== from.lon)
        ? geoInterpolate([from.lon, from.lat], [to.lon, to.lat])
        : null;
    this.active.push({ from, to, color: COLORS[outcome], start: performance.now(), interp });
    this.schedule();
  }

  /** Makes the address's dot pulse for a minute (a still ring when the user prefers reduced
   * motion), so that what is being hit now stands out among the older dots. */
  hit(ip: string, at: LatLon, outcome: Outcome): void {
    this.pulses.delete(ip);
    this.pulses.set(ip, { at, color: COLORS[outcome], since: performance.now() });
    if (this.pulses.size > MAX_PULSES) {
      const oldest = this.pulses.keys().next();
      if (!oldest.done) this.pulses.delete(oldest.value);
    }
    this.schedule();
  }

  /** The addresses pulsing now. */
  pulsing(): string[] {
    return [...this.pulses.keys()];
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame((t) => this.tick(t));
  }

  private tick(now: number): void {
    this.frame = 0;
    const { ctx } = this.map.arcs;
    ctx.clearRect(0, 0, this.map.width, this.map.height);
    const path = geoPath(this.map.projection, ctx);
    this.drawPulses(now);

    for (let i = this.active.length - 1; i >= 0; i--) {
      const a = this.active[i]!;
      const age = now - a.start;
      const total = a.interp ? DURATION_MS + RIPPLE_MS : RIPPLE_MS;
      if (age >= total) {
        this.active.splice(i, 1);
        continue;
      }
      this.ripple(a.from, a.color, age / RIPPLE_MS);
      if (a.interp && age < DURATION_MS) {
        this.comet(path, a.interp, a.color, easeInOut(age / DURATION_MS));
      } else if (a.interp && a.to) {
        this.ripple(a.to, COLORS.home, (age - DURATION_MS) / RIPPLE_MS, 0.6);
      }
    }
    if (this.active.length || this.pulses.size) this.schedule();
  }

  private drawPulses(now: number): void {
    const { ctx } = this.map.arcs;
    const still = this.reducedMotion.matches;
    for (const [ip, p] of this.pulses) {
      const age = now - p.since;
      if (age >= PULSE_FOR_MS) {
        this.pulses.delete(ip);
        continue;
      }
      const at = this.map.project(p.at.lon, p.at.lat);
      if (!at) continue;
      // Each pulse grows and fades; the pulses fade out over the minute.
      const phase = still ? 0.4 : (age % PULSE_PERIOD_MS) / PULSE_PERIOD_MS;
      ctx.globalAlpha = (1 - phase) * 0.7 * (1 - (0.7 * age) / PULSE_FOR_MS);
      ctx.strokeStyle = p.color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(at[0], at[1], 4 + 8 * phase, 0, Math.PI * 2);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  private comet(
    path: ReturnType<typeof geoPath>,
    interp: (t: number) => [number, number],
    color: string,
    head: number,
  ): void {
    const { ctx } = this.map.arcs;
    const tailStart = Math.max(0, head - TAIL);
    ctx.lineCap = "round";
    ctx.strokeStyle = color;
    // The tail is drawn as short segments that brighten and thicken towards the head.
    for (let s = 0; s < TAIL_STEPS; s++) {
      const t0 = tailStart + ((head - tailStart) * s) / TAIL_STEPS;
      const t1 = tailStart + ((head - tailStart) * (s + 1)) / TAIL_STEPS;
      const k = (s + 1) / TAIL_STEPS;
      ctx.globalAlpha = 0.05 + 0.85 * k * k;
      ctx.lineWidth = 0.5 + 1.75 * k;
      ctx.beginPath();
      path({ type: "LineString", coordinates: [interp(t0), interp((t0 + t1) / 2), interp(t1)] });
      ctx.stroke();
    }
    const p = this.map.projection(interp(head));
    if (p) {
      ctx.globalAlpha = 1;
      ctx.fillStyle = "#fff";
      ctx.beginPath();
      ctx.arc(p[0], p[1], 1.8, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  private ripple(at: LatLon, color: string, t: number, strength = 1): void {
    if (t < 0 || t >= 1) return;
    const p = this.map.project(at.lon, at.lat);
    if (!p) return;
    const { ctx } = this.map.arcs;
    ctx.globalAlpha = (1 - t) * 0.8 * strength;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(p[0], p[1], 3 + 14 * t, 0, Math.PI * 2);
    ctx.stroke();
    ctx.globalAlpha = 1;
  }
}

function easeInOut(t: number): number {
  return t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2;
}
