// Wires the page together: initial load, live updates, clicks, periodic refresh.

import { AdminSession } from "./admin";
import { api, hasLocation, type KnockEvent, type LatLon, type Meta } from "./api";
import { ArcLayer } from "./arcs";
import { byId, externalLink } from "./dom";
import { Feed } from "./feed";
import { LiveConnection, type LiveState } from "./live";
import { WorldMap } from "./map";
import { MarkerLayer, type View } from "./markers";
import { Popup } from "./popup";
import { StatsView } from "./stats";
import { UnlocatedPanel } from "./unlocated";

const STATS_REFRESH_MS = 30_000;
const RECENT_LIMIT = 20;

declare global {
  interface Window {
    knockmapTest?: { markerScreenPosition(ip: string): { x: number; y: number } | null };
  }
}

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
const unlocated = new UnlocatedPanel((ip, x, y) => void popup.open(ip, x, y));
let meta: Meta | null = null;

window.knockmapTest = { markerScreenPosition: (ip) => markers.screenPosition(ip) };

// ---- meta: home/sensor locations, attribution, version ----

function setMeta(m: Meta): void {
  meta = m;
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

async function loadAll(): Promise<void> {
  const [m, s, mk, recent] = await Promise.all([
    api.meta(),
    api.stats(),
    api.markers(),
    api.recent(RECENT_LIMIT),
  ]);
  setMeta(m);
  markers.reset(mk);
  stats.set(s);
  feed.reset(recent.events ?? []);
  showError(null);
}

/** Live events applied so far: a refresh that saw some arrive while it was in flight may
 * have answered from before them and overwritten what they added. */
let liveEventsSeen = 0;
/** Delay of the one follow-up refresh after a refresh that raced with live events. */
const FOLLOW_UP_MS = 1_000;

async function refreshCounts(withMarkers: boolean, followUp = true): Promise<void> {
  const seenBefore = liveEventsSeen;
  try {
    if (withMarkers) {
      const [s, mk] = await Promise.all([api.stats(), api.markers()]);
      markers.reset(mk);
      stats.set(s);
      void unlocated.refresh();
    } else {
      stats.set(await api.stats());
    }
  } catch {
    // The next refresh or reconnect tries again; live events keep the counters moving.
  }
  if (followUp && liveEventsSeen !== seenBefore) {
    setTimeout(() => void refreshCounts(withMarkers, false), FOLLOW_UP_MS);
  }
}

// ---- live ----

let popupRefresh = 0;

function onEvents(events: KnockEvent[]): void {
  liveEventsSeen += events.length;
  for (const e of events) {
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
    feed.add(e);
    if (located && e.geo) {
      arcs.launch({ lat: e.geo.lat!, lon: e.geo.lon! }, arcTarget(e), e.outcome);
    }
    if (e.ip && e.ip === popup.currentIp) {
      window.clearTimeout(popupRefresh);
      popupRefresh = window.setTimeout(() => popup.refresh(), 500);
    }
  }
  stats.render();
}

const liveStatus = byId("live-status");
const liveText = byId("live-text");
function onLiveState(state: LiveState, retryInMs?: number): void {
  liveStatus.dataset.state = state;
  liveText.textContent =
    state === "live"
      ? "Live"
      : state === "connecting"
        ? "Connecting…"
        : `Offline, retrying in ${Math.max(1, Math.round((retryInMs ?? 0) / 1000))} s`;
}

const live = new LiveConnection({
  hello(m, reconnected) {
    setMeta(m);
    // Events stored before this subscription (while the page loaded, or while we were away)
    // are not replayed: fetch the totals again now that nothing new can be missed.
    void refreshCounts(true);
    if (reconnected) {
      void api.recent(RECENT_LIMIT).then((r) => feed.reset(r.events ?? []), () => {});
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
function setView(view: View): void {
  markers.setView(view);
  const heat = view === "heat";
  viewToggle.setAttribute("aria-pressed", String(heat));
  viewToggle.textContent = heat ? "Markers" : "Heatmap";
  viewToggle.title = heat ? "Show the attackers as markers" : "Show the attackers as a heatmap";
  document.body.dataset.view = view;
  const url = new URL(location.href);
  if (heat) url.searchParams.set("view", "heat");
  else url.searchParams.delete("view");
  history.replaceState(null, "", url);
}
viewToggle.addEventListener("click", () => setView(markers.currentView === "heat" ? "markers" : "heat"));
if (new URLSearchParams(location.search).get("view") === "heat") setView("heat");

// ---- clicks on markers ----

const markerCanvas = map.markers.canvas;
function markerAt(ev: MouseEvent) {
  const r = markerCanvas.getBoundingClientRect();
  return markers.hitTest(ev.clientX - r.left, ev.clientY - r.top);
}
markerCanvas.addEventListener("click", (ev) => {
  const m = markerAt(ev);
  if (m) void popup.open(m.ip, ev.clientX, ev.clientY);
  else popup.close();
});
markerCanvas.addEventListener("mousemove", (ev) => {
  markerCanvas.classList.toggle("pointer", !!markerAt(ev));
});

// ---- start ----

async function start(): Promise<void> {
  for (let delay = 2000; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      await loadAll();
      break;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      showError(`Cannot reach the knockmap server (${why}). Retrying…`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  live.start();
  setInterval(() => void refreshCounts(false), STATS_REFRESH_MS);
}

void start();
