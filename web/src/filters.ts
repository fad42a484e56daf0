// What the page shows: the time window and the narrowing filters (country, sensor, network,
// user name), kept in the URL so that a view can be shared, and turned into the API's query
// parameters.

import type { KnockEvent } from "./api";

/** The time windows on offer; `custom` takes `since`/`until` from the URL or the form. */
export const WINDOWS = ["1h", "24h", "7d", "30d", "all", "custom"] as const;
export type WindowName = (typeof WINDOWS)[number];

const WINDOW_MS: Record<Exclude<WindowName, "all" | "custom">, number> = {
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};

export const WINDOW_LABELS: Record<WindowName, string> = {
  "1h": "Last hour",
  "24h": "24 hours",
  "7d": "7 days",
  "30d": "30 days",
  all: "All time",
  custom: "Custom",
};

export interface ViewState {
  window: WindowName;
  /** Custom window bounds, ISO strings. */
  since: string | null;
  until: string | null;
  country: string | null;
  sensor: string | null;
  /** Autonomous system number. */
  asn: number | null;
  user: string | null;
}

/** The longest user name a filter takes (the server's limit), in UTF-8 bytes. */
const MAX_USER_BYTES = 4096;

/** The N of a `/recent/N` page (the map of the latest N events, 1 to 1000); null for the
 * map of a time window. */
export function recentCount(pathname: string): number | null {
  const m = pathname.match(/^\/recent\/(\d{1,4})\/?$/);
  return m ? Math.min(1000, Math.max(1, Number(m[1]))) : null;
}

/** Reads the state from the URL; anything malformed falls back to the default. */
export function fromUrl(url: URL): ViewState {
  const p = url.searchParams;
  const window = (WINDOWS as readonly string[]).includes(p.get("window") ?? "")
    ? (p.get("window") as WindowName)
    : "all";
  const time = (name: string) => {
    const v = p.get(name);
    return v && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : null;
  };
  const country = p.get("country");
  const sensor = p.get("sensor");
  const asn = p.get("asn");
  const user = p.get("user");
  return {
    window,
    since: window === "custom" ? time("since") : null,
    until: window === "custom" ? time("until") : null,
    country: country && /^[A-Za-z]{2}$/.test(country) ? country.toUpperCase() : null,
    sensor: sensor && sensor.length <= 200 ? sensor : null,
    asn: asn && /^\d{1,10}$/.test(asn) && Number(asn) < 2 ** 32 ? Number(asn) : null,
    user: user && new TextEncoder().encode(user).length <= MAX_USER_BYTES ? user : null,
  };
}

/** The state as a string, equal for equal states: its URL parameters. */
export function viewKey(state: ViewState): string {
  return toUrl(state, new URL("knockmap:view")).search;
}

/** Writes the state into `url` (other parameters are kept). */
export function toUrl(state: ViewState, url: URL): URL {
  const p = url.searchParams;
  const set = (name: string, value: string | null) => (value ? p.set(name, value) : p.delete(name));
  set("window", state.window === "all" ? null : state.window);
  set("since", state.window === "custom" ? state.since : null);
  set("until", state.window === "custom" ? state.until : null);
  set("country", state.country);
  set("sensor", state.sensor);
  set("asn", state.asn === null ? null : String(state.asn));
  set("user", state.user);
  return url;
}

/** The window's bounds at `now` (ms since the epoch); null for an open end. */
export function bounds(state: ViewState, now = Date.now()): { since: number | null; until: number | null } {
  if (state.window === "all") return { since: null, until: null };
  if (state.window === "custom") {
    return {
      since: state.since ? Date.parse(state.since) : null,
      until: state.until ? Date.parse(state.until) : null,
    };
  }
  return { since: now - WINDOW_MS[state.window], until: null };
}

/** The window just before this one, of the same length, for "change against the previous
 * window"; null when the window has no length (all time, open custom ranges). */
export function previous(state: ViewState, now = Date.now()): { since: number; until: number } | null {
  const b = bounds(state, now);
  if (b.since === null) return null;
  const until = b.until ?? now;
  const length = until - b.since;
  return length > 0 ? { since: b.since - length, until: b.since } : null;
}

/** The API query string (without `?`) for the state, or for explicit bounds. */
export function query(
  state: ViewState,
  range: { since: number | null; until: number | null } = bounds(state),
): string {
  const p = new URLSearchParams();
  if (range.since !== null) p.set("since", new Date(range.since).toISOString());
  if (range.until !== null) p.set("until", new Date(range.until).toISOString());
  if (state.country) p.set("country", state.country);
  if (state.sensor) p.set("sensor", state.sensor);
  if (state.asn !== null) p.set("asn", String(state.asn));
  if (state.user) p.set("user", state.user);
  return p.toString();
}

/** Whether an event passes the country, sensor, network and user filters (the window aside). */
export function matchesFilters(state: ViewState, e: KnockEvent): boolean {
  if (state.country && e.geo?.country_code !== state.country) return false;
  if (state.sensor && e.sensor !== state.sensor) return false;
  if (state.asn !== null && e.geo?.asn !== state.asn) return false;
  if (state.user && e.user !== state.user) return false;
  return true;
}

/** Whether any filter besides the window is active. */
export function hasFilters(state: ViewState): boolean {
  return !!state.country || !!state.sensor || state.asn !== null || !!state.user;
}

/** Whether a live event belongs to what the page shows. */
export function matches(state: ViewState, e: KnockEvent, now = Date.now()): boolean {
  if (!matchesFilters(state, e)) return false;
  const b = bounds(state, now);
  const t = Date.parse(e.ts);
  if (b.since !== null && !(t >= b.since)) return false;
  if (b.until !== null && !(t < b.until)) return false;
  return true;
}

/** Whether any narrowing is active. */
export function isFiltered(state: ViewState): boolean {
  return state.window !== "all" || hasFilters(state);
}
