// The header counters: kept exact by /api/v1/stats, nudged forward by live events, with the
// change against the previous window of the same length when there is one.

import type { KnockEvent, Stats } from "./api";
import { isAttempt, weight } from "./api";
import { byId, formatCount, formatShortDateTime } from "./dom";

export interface Novelty {
  newIp: boolean;
  newCountry: boolean;
  unlocatedDelta: number;
}

export class StatsView {
  private stats: Stats | null = null;
  private previous: Stats | null = null;
  private readonly attempts = byId("stat-attempts");
  private readonly events = byId("stat-events");
  private readonly successes = byId("stat-successes");
  private readonly ips = byId("stat-ips");
  private readonly countries = byId("stat-countries");
  private readonly unlocated = byId("stat-unlocated");
  private readonly last = byId<HTMLTimeElement>("stat-last");

  constructor() {
    // Keep "today" vs. a full date right as the day changes.
    setInterval(() => this.render(), 60_000);
  }

  /** The window's figures, and those of the window before it (null: no comparison). */
  set(stats: Stats, previous: Stats | null = this.previous): void {
    this.stats = stats;
    this.previous = previous;
    this.render();
  }

  /** The figures shown, as last set and nudged. */
  get current(): Stats | null {
    return this.stats;
  }

  /** Count one live event; `novelty` says whether its address/country is new. */
  apply(e: KnockEvent, novelty: Novelty): void {
    const s = this.stats;
    if (!s) return;
    const n = weight(e);
    s.events += n;
    if (isAttempt(e)) s.attempts += n;
    if (e.outcome === "success") s.successes += n;
    else if (e.outcome === "failure") s.failures += n;
    else s.probes += n;
    if (novelty.newIp) s.unique_ips += 1;
    if (novelty.newCountry) s.countries += 1;
    s.unlocated_ips = Math.max(0, s.unlocated_ips + novelty.unlocatedDelta);
    if (!s.last_event || Date.parse(e.ts) > Date.parse(s.last_event)) s.last_event = e.ts;
  }

  render(): void {
    const s = this.stats;
    if (!s) return;
    bump(this.attempts, formatCount(s.attempts));
    bump(this.events, formatCount(s.events));
    bump(this.successes, formatCount(s.successes));
    bump(this.ips, formatCount(s.unique_ips));
    const p = this.previous;
    delta("delta-attempts", s.attempts, p?.attempts);
    delta("delta-events", s.events, p?.events);
    delta("delta-ips", s.unique_ips, p?.unique_ips);
    delta("delta-successes", s.successes, p?.successes);
    bump(this.countries, formatCount(s.countries));
    bump(this.unlocated, formatCount(s.unlocated_ips));
    bump(this.last, formatShortDateTime(s.last_event));
    if (s.last_event) {
      this.last.dateTime = s.last_event;
      this.last.title = new Date(s.last_event).toString();
    }
  }
}

/** The change against the previous window, as "▲ 12 %" (not by colour alone). */
function delta(id: string, now: number, before: number | undefined): void {
  const node = byId(id);
  if (before === undefined) {
    node.textContent = "";
    node.removeAttribute("title");
    return;
  }
  let text: string;
  if (before === 0) text = now === 0 ? "±0" : "▲ new";
  else {
    const pct = Math.round(((now - before) / before) * 100);
    text = pct === 0 ? "±0 %" : `${pct > 0 ? "▲" : "▼"} ${Math.abs(pct)} %`;
  }
  node.textContent = text;
  node.dataset.trend = now > before ? "up" : now < before ? "down" : "flat";
  node.title = `${formatCount(before)} in the previous window`;
}

/** Set a counter's text and flash it briefly when it changed. */
function bump(node: HTMLElement, text: string): void {
  if (node.textContent === text) return;
  const first = node.textContent === "—" || node.textContent === "";
  node.textContent = text;
  if (first) return;
  node.classList.remove("bump");
  void node.offsetWidth; // restart the CSS animation
  node.classList.add("bump");
}
