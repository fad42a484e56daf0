// Wires the page together: the view (time window and filters, kept in the URL), initial
// load, live updates, clicks, periodic refresh.

import { AdminSession } from "./admin";
import { api, hasLocation, type KnockEvent, type LatLon, type Meta } from "./api";
import { ArcLayer } from "./arcs";
import { afterNextPaint, byId, countryName, externalLink } from "./dom";
import { Feed } from "./feed";
import { FilterBar } from "./filterbar";
import {
  bounds,
  fromUrl,
  hasFilters,
  matches,
  matchesFilters,
  previous,
  query,
  recentCount,
  toUrl,
  viewKey,
  type ViewState,
} from "./filters";
import { takeEarly } from "./early";
import { LiveConnection, type LiveState } from "./live";
import { WorldMap } from "./map";
import { COLORS, MarkerLayer, type View } from "./markers";
import { SidePanel, type PanelAction } from "./panels";
import { Popup } from "./popup";
import { StatsView } from "./stats";
import { UnlocatedPanel } from "./unlocated";

const STATS_REFRESH_MS = 30_000;
const RECENT_LIMIT = 20;
/** `/recent/N`: the map of the latest N events only (1 to 1000), as the original offered. */
const recentOnly = recentCount(location.pathname);

declare global {
  interface Window {
    knockmapTest?: {
      markerScreenPosition(ip: string): { x: number; y: number } | null;
      screenPoint(lon: number, lat: number): { x: number; y: number } | null;
      /** The colours dots are drawn in (what may show through a see-through panel). */
      dotColors: string[];
      /** The addresses whose dots pulse (hit in the last minute). */
      pulsing(): string[];
    };
  }
}

let view: ViewState = fromUrl(new URL(location.href));
// The data is asked for first, so that the server answers while the map is being set up.
let firstFetch: ReturnType<typeof fetchView> | null = fetchView();
firstFetch.catch(() => {}); // handled where it is awaited, in start()

const mapEl = byId("map");
const map = new WorldMap(mapEl);
const markers = new MarkerLayer(map);
const arcs = new ArcLayer(map);
const popup = new Popup(document.body);
const stats = new StatsView();
const feed = new Feed((ip, x, y) => {
  const pos = markers.screenPosition(ip);
  void popup.open(ip, pos?.x ?? x, pos?.y ?? y);
});
new AdminSession(byId("admin-area"));
const unlocated = new UnlocatedPanel(
  (ip, x, y) => void popup.open(ip, x, y),
  () => query(view),
);
let meta: Meta | null = null;
const filterBar = new FilterBar((next) => setView(next), countryName, networkName);
const side = new SidePanel(onPanelAction);

/** Shows another window or filter: everything is loaded again for it. */
function setView(next: ViewState): void {
  view = next;
  viewChanges++;
  history.replaceState(null, "", toUrl(view, new URL(location.href)));
  filterBar.render(view);
  popup.close();
  void loadAll().catch((err) => showError(`Cannot load this view: ${err instanceof Error ? err.message : String(err)}`));
}

function onPanelAction(action: PanelAction): void {
  if (action.kind === "country") setView({ ...view, country: action.code });
  else if (action.kind === "sensor") setView({ ...view, sensor: action.name });
  else if (action.kind === "asn") setView({ ...view, asn: action.asn });
  else if (action.kind === "user") setView({ ...view, user: action.name });
  else {
    const pos = markers.screenPosition(action.ip);
    void popup.open(action.ip, pos?.x ?? action.x, pos?.y ?? action.y);
  }
}

/** The latest events of the view: `recent` takes the window; the filters are applied here. */
async function recentEvents(): Promise<KnockEvent[]> {
  const r = await api.recent(hasFilters(view) ? 200 : RECENT_LIMIT, query(view));
  return (r.events ?? []).filter((e) => matchesFilters(view, e)).slice(0, RECENT_LIMIT);
}

/** The organisation of a network in the figures shown, if they list it. */
function networkName(asn: number): string | null {
  return stats.current?.top_asns?.find((t) => t.key === String(asn))?.name ?? null;
}

/** The view's figures and those of the window before it. */
async function viewStats() {
  const prev = previous(view);
  return Promise.all([api.stats(query(view)), prev ? api.stats(query(view, prev)) : Promise.resolve(null)]);
}

window.knockmapTest = {
  markerScreenPosition: (ip) => markers.screenPosition(ip),
  screenPoint: (lon, lat) => {
    const p = map.project(lon, lat);
    const o = map.origin();
    return p ? { x: o.left + p[0], y: o.top + p[1] } : null;
  },
  dotColors: Object.values(COLORS),
  pulsing: () => arcs.pulsing(),
};

// ---- meta: home/sensor locations, attribution, version ----

function setMeta(m: Meta): void {
  meta = m;
  if (m.public && document.body.dataset.public !== "true") {
    document.body.dataset.public = "true";
    popup.setPublic((network) => markers.get(network));
    side.hideUsers = !m.show_users;
    side.hideWatched = true;
  }
  const homes: LatLon[] = [];
  const addHome = (p: { lat?: number | null; lon?: number | null } | null | undefined) => {
    if (!p || !Number.isFinite(p.lat) || !Number.isFinite(p.lon)) return;
    const h = { lat: p.lat as number, lon: p.lon as number };
    if (!homes.some((o) => o.lat === h.lat && o.lon === h.lon)) homes.push(h);
  };
  addHome(m.home);
  for (const s of m.sensors ?? []) addHome(s);
  markers.setHomes(homes);

  const attribution = byId("attribution");
  attribution.replaceChildren();
  if (m.attribution?.text) {
    attribution.append(" · ", externalLink(m.attribution.url ?? "", m.attribution.text));
  }
  byId("version").textContent = m.version ? `knockmap ${m.version}` : "knockmap";
}

/** Where an event's arc ends: its sensor's location when known, else home. */
function arcTarget(e: KnockEvent): LatLon | null {
  const sensor = meta?.sensors?.find((s) => s.name === e.sensor);
  if (sensor && Number.isFinite(sensor.lat) && Number.isFinite(sensor.lon)) {
    return { lat: sensor.lat as number, lon: sensor.lon as number };
  }
  return meta?.home ?? null;
}

// ---- loading ----

const banner = byId("banner");
function showError(message: string | null): void {
  banner.hidden = message === null;
  banner.textContent = message ?? "";
}

/** The markers of the view, or in `/recent/N` those of the latest N events. */
async function viewMarkers() {
  if (recentOnly === null) return api.markers(query(view), takeEarly(viewKey(view)));
  const latest = (await api.recent(recentOnly, query(view))).events ?? [];
  return { markers: [], unlocated: [], replay: latest.filter((e) => matchesFilters(view, e)).reverse() };
}

/** Bumped whenever the view changes: answers asked for before are for another view, and
 * are dropped if they arrive after (two quick changes may be answered out of order). */
let viewChanges = 0;

/** The server's count of live batches when it began the markers shown (null: unknown). */
let snapshotPublished: number | null = null;

/** Everything the page shows for the view. */
function fetchView() {
  return Promise.all([api.meta(), viewStats(), viewMarkers(), recentEvents()]);
}

async function loadAll(pending = fetchView()): Promise<void> {
  const asked = viewChanges;
  const [m, [s, prev], mk, recent] = await pending;
  if (asked !== viewChanges) return;
  setMeta(m);
  // The earlier of the two answers bounds what the page holds.
  const counts = [s.published, "published" in mk ? mk.published : null];
  snapshotPublished = counts.every((n) => typeof n === "number") ? Math.min(...(counts as number[])) : null;
  markers.reset(mk);
  for (const e of "replay" in mk ? mk.replay : []) markers.apply(e);
  stats.set(s, prev);
  // The feed now, so that live events arriving from here on are added to it, not replaced.
  feed.reset(recent);
  // The network filter's chip names the organisation once the figures say it.
  filterBar.render(view);
  showError(null);
  // The map first: the side panel is filled once it is on the screen.
  await afterNextPaint();
  if (asked !== viewChanges) return;
  side.render(stats.current ?? s, markers.all(), bounds(view));
  void unlocated.refresh();
}

/** Live events applied so far: a refresh that saw some arrive while it was in flight may
 * have answered from before them and overwritten what they added. */
let liveEventsSeen = 0;
/** Delay of the one follow-up refresh after a refresh that raced with live events. */
const FOLLOW_UP_MS = 1_000;

async function refreshCounts(withMarkers: boolean, followUp = true): Promise<void> {
  const seenBefore = liveEventsSeen;
  const asked = viewChanges;
  try {
    if (withMarkers) {
      const [[s, prev], mk] = await Promise.all([viewStats(), viewMarkers()]);
      if (asked !== viewChanges) return;
      markers.reset(mk);
      for (const e of "replay" in mk ? mk.replay : []) markers.apply(e);
      stats.set(s, prev);
      void unlocated.refresh();
    } else {
      const [s, prev] = await viewStats();
      if (asked !== viewChanges) return;
      stats.set(s, prev);
    }
    const s = stats.current;
    if (s) side.render(s, markers.all(), bounds(view));
  } catch {
    // The next refresh or reconnect tries again; live events keep the counters moving.
  }
  if (followUp && liveEventsSeen !== seenBefore) {
    setTimeout(() => void refreshCounts(withMarkers, false), FOLLOW_UP_MS);
  }
}

// ---- live ----

let popupRefresh = 0;

function onEvents(all: KnockEvent[]): void {
  // Only what the view shows: a custom window in the past takes no live events.
  const now = Date.now();
  const events = all.filter((e) => matches(view, e, now));
  liveEventsSeen += events.length;
  let alerted = false;
  for (const e of events) {
    // A success from an address that failed before: the attack may have worked.
    const before = e.ip ? markers.get(e.ip) : undefined;
    const alert = e.outcome === "success" && !!before && before.failures > 0;
    const located = hasLocation(e.geo);
    const known = e.ip ? markers.knows(e.ip) : true;
    const wasUnlocated = !!e.ip && known && !markers.get(e.ip);
    const cc = e.geo?.country_code;
    stats.apply(e, {
      newIp: !!e.ip && !known,
      newCountry: located && !!cc && !markers.knowsCountry(cc),
      unlocatedDelta: !e.ip ? 0 : !located && !known ? 1 : located && wasUnlocated ? -1 : 0,
    });
    markers.apply(e);
    feed.add(e, alert);
    alerted ||= e.outcome === "success";
    if (located && e.geo) {
      const at = { lat: e.geo.lat!, lon: e.geo.lon! };
      arcs.launch(at, arcTarget(e), e.outcome);
      if (e.ip) arcs.hit(e.ip, at, e.outcome);
    }
    if (e.ip && e.ip === popup.currentIp) {
      window.clearTimeout(popupRefresh);
      popupRefresh = window.setTimeout(() => popup.refresh(), 500);
    }
  }
  stats.render();
  showFreshness();
  if (alerted) {
    const s = stats.current;
    if (s) side.render(s, markers.all(), bounds(view));
  }
}

const liveStatus = byId("live-status");
const liveText = byId("live-text");
/** Connected, but nothing new for this long: the light says "quiet" (sensors may be down). */
const STALE_MS = 15 * 60_000;
let liveState: LiveState = "connecting";

function onLiveState(state: LiveState, retryInMs?: number): void {
  liveState = state;
  if (state !== "live") {
    liveStatus.dataset.state = state;
    liveText.textContent =
      state === "connecting"
        ? "Connecting…"
        : `Offline, retrying in ${Math.max(1, Math.round((retryInMs ?? 0) / 1000))} s`;
    return;
  }
  showFreshness();
}

/** While connected: "Live", with the age of the newest event, or "quiet" when it is old. */
function showFreshness(): void {
  if (liveState !== "live") return;
  const last = stats.current?.last_event ? Date.parse(stats.current.last_event) : NaN;
  const age = Date.now() - last;
  const stale = Number.isFinite(age) && age > STALE_MS;
  liveStatus.dataset.state = stale ? "stale" : "live";
  liveText.textContent = Number.isFinite(age)
    ? `${stale ? "Quiet" : "Live"} · newest ${formatAge(age)} ago`
    : "Live";
  liveStatus.title = stale ? "Connected, but no event for a while: are the sensors running?" : "Connected";
}
setInterval(showFreshness, 5_000);

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

const live = new LiveConnection({
  hello(m, reconnected, published) {
    setMeta(m);
    // Events stored before this subscription (while the page loaded, or while we were away)
    // are not replayed: fetch the totals again now that nothing new can be missed, unless
    // the server published nothing since it began the map's answer.
    const caughtUp = !reconnected && published !== null && published === snapshotPublished;
    if (!caughtUp) void refreshCounts(true);
    if (reconnected) {
      void recentEvents().then((r) => feed.reset(r), () => {});
    }
  },
  events: onEvents,
  resync: () => void refreshCounts(true),
  state: onLiveState,
});

// ---- map controls: zoom and view ----

byId("zoom-in").addEventListener("click", () => map.zoomBy(2));
byId("zoom-out").addEventListener("click", () => map.zoomBy(0.5));
byId("zoom-reset").addEventListener("click", () => map.resetZoom());
const viewToggle = byId("view-toggle");
function setMarkerView(mode: View): void {
  markers.setView(mode);
  const heat = mode === "heat";
  viewToggle.setAttribute("aria-pressed", String(heat));
  viewToggle.textContent = heat ? "Markers" : "Heatmap";
  viewToggle.title = heat ? "Show the attackers as markers" : "Show the attackers as a heatmap";
  document.body.dataset.view = mode;
  const url = new URL(location.href);
  if (heat) url.searchParams.set("view", "heat");
  else url.searchParams.delete("view");
  history.replaceState(null, "", url);
}
viewToggle.addEventListener("click", () => setMarkerView(markers.currentView === "heat" ? "markers" : "heat"));
if (new URLSearchParams(location.search).get("view") === "heat") setMarkerView("heat");

// ---- clicks on markers ----

const markerCanvas = map.markers.canvas;
function markerAt(ev: MouseEvent) {
  const r = markerCanvas.getBoundingClientRect();
  return markers.hitTest(ev.clientX - r.left, ev.clientY - r.top);
}
markerCanvas.addEventListener("click", (ev) => {
  const m = markerAt(ev);
  if (m) {
    void popup.open(m.ip, ev.clientX, ev.clientY);
    return;
  }
  if (popup.isOpen) {
    popup.close();
    return;
  }
  // A click on a country shows only that country.
  const country = map.countryAt(ev.clientX, ev.clientY);
  if (country && country.code !== view.country) setView({ ...view, country: country.code });
});
// Hovering looks through every marker and country: once per frame, not once per event.
let hovered: MouseEvent | null = null;
markerCanvas.addEventListener("mousemove", (ev) => {
  if (!hovered) {
    requestAnimationFrame(() => {
      const last = hovered;
      hovered = null;
      if (!last) return;
      const onMarker = !!markerAt(last);
      markerCanvas.classList.toggle("pointer", onMarker);
      const country = onMarker ? null : map.countryAt(last.clientX, last.clientY);
      markerCanvas.title = country ? `${country.name}: click to show only this country` : "";
    });
  }
  hovered = ev;
});

// ---- start ----

async function start(): Promise<void> {
  for (let delay = 2000; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      const pending = firstFetch ?? undefined;
      firstFetch = null;
      await loadAll(pending);
      break;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      showError(`Cannot reach the knockmap server (${why}). Retrying…`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  live.start();
  // A rolling window moves on: addresses that fall out of it leave the map too.
  setInterval(() => void refreshCounts(view.window !== "all" && view.window !== "custom"), STATS_REFRESH_MS);
}

filterBar.render(view);
if (recentOnly !== null) {
  const note = byId("recent-note");
  const all = document.createElement("a");
  all.href = "/";
  all.textContent = "show all";
  note.append(`The map shows the latest ${recentOnly === 1 ? "event" : `${recentOnly} events`} · `, all);
  note.hidden = false;
}
void start();
