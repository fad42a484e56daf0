// Activity over time: one bar per hour (per day for long windows), stacked by outcome:
// failed logins, successful logins, and the other events (probes, pre-auth disconnects).

import type { SeriesPoint } from "./api";
import { el, formatCount } from "./dom";

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 266;
const HEIGHT = 90;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

interface Bucket {
  start: number;
  failures: number;
  successes: number;
  other: number;
}

/** Hours into buckets of `size` ms, oldest first, with empty buckets from `from` (or the
 * first hour) to `to` (or the last hour). */
export function buckets(series: SeriesPoint[], size: number, from: number | null = null, to: number | null = null): Bucket[] {
  const byStart = new Map<number, Bucket>();
  for (const p of series) {
    const t = Date.parse(p.hour);
    if (!Number.isFinite(t)) continue;
    const start = Math.floor(t / size) * size;
    const b = byStart.get(start) ?? { start, failures: 0, successes: 0, other: 0 };
    b.failures += Math.max(0, p.attempts - p.successes);
    b.successes += p.successes;
    b.other += Math.max(0, p.events - p.attempts);
    byStart.set(start, b);
  }
  const starts = [...byStart.keys()].sort((a, b) => a - b);
  if (starts.length === 0) return [];
  const first = Math.min(starts[0]!, from === null ? Infinity : Math.floor(from / size) * size);
  const last = Math.max(starts[starts.length - 1]!, to === null ? -Infinity : Math.floor(to / size) * size);
  const out: Bucket[] = [];
  for (let s = first; s <= last; s += size) {
    out.push(byStart.get(s) ?? { start: s, failures: 0, successes: 0, other: 0 });
  }
  return out;
}

/** The chart of a series over the window `since`..`until` (null: from the first event, to
 * now): hourly up to two days, daily beyond. */
export function activityChart(series: SeriesPoint[], since: number | null, until: number | null): HTMLElement {
  const hours = series.map((p) => Date.parse(p.hour)).filter(Number.isFinite);
  const from = since ?? (hours.length ? Math.min(...hours) : Date.now());
  const to = until ?? Date.now();
  const size = to - from > 2 * DAY_MS ? DAY_MS : HOUR_MS;
  const data = buckets(series, size, from, to - 1);
  if (data.length === 0) return el("p", "muted", "No events in this window.");
  const max = Math.max(1, ...data.map((b) => b.failures + b.successes + b.other));
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("class", "activity");
  svg.setAttribute("role", "img");
  const peak = data.reduce((a, b) => (b.failures + b.successes + b.other > a.failures + a.successes + a.other ? b : a));
  const unit = size === DAY_MS ? "day" : "hour";
  svg.setAttribute(
    "aria-label",
    `Events per ${unit}: ${data.length} ${unit}s, at most ${formatCount(max)} (${label(peak.start, size)})`,
  );
  // Few buckets stay narrow bars, the newest at the right edge.
  const barWidth = Math.min(WIDTH / data.length, 14);
  const left = WIDTH - barWidth * data.length;
  data.forEach((b, i) => {
    const g = document.createElementNS(SVG_NS, "g");
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = `${label(b.start, size)}: ${formatCount(b.failures)} failed, ${formatCount(b.successes)} successful, ${formatCount(b.other)} other`;
    g.appendChild(title);
    let y = HEIGHT;
    for (const [value, cls] of [
      [b.failures, "failure"],
      [b.successes, "success"],
      [b.other, "other"],
    ] as [number, string][]) {
      if (value <= 0) continue;
      const h = (value / max) * HEIGHT;
      y -= h;
      const rect = document.createElementNS(SVG_NS, "rect");
      rect.setAttribute("class", cls);
      rect.setAttribute("x", (left + i * barWidth + 0.5).toFixed(2));
      rect.setAttribute("y", y.toFixed(2));
      rect.setAttribute("width", Math.max(0.5, barWidth - 1).toFixed(2));
      rect.setAttribute("height", Math.max(0.5, h).toFixed(2));
      g.appendChild(rect);
    }
    svg.appendChild(g);
  });
  const axis = el(
    "div",
    "activity-axis",
    el("span", null, label(data[0]!.start, size)),
    el("span", null, `max ${formatCount(max)} / ${unit}`),
    el("span", null, label(data[data.length - 1]!.start, size)),
  );
  const legend = el(
    "div",
    "activity-legend",
    el("span", "failure", "failed"),
    el("span", "success", "successful"),
    el("span", "other", "other"),
  );
  const box = el("div", "activity-box", axis, legend);
  box.prepend(svg as unknown as HTMLElement);
  return box;
}

const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const hourFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit" });
function label(start: number, size: number): string {
  return (size === DAY_MS ? dayFmt : hourFmt).format(new Date(start));
}
