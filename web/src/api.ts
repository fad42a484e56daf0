// Types and fetch helpers for the knockmap HTTP API (docs/api.md).
// Every string in these types may come from a log line and is attacker-controlled:
// render it with textContent only.

export type Outcome = "failure" | "success" | "probe";

export interface LatLon {
  lat: number;
  lon: number;
}

export interface Attribution {
  text: string;
  url: string;
}

export interface Sensor {
  name: string;
  lat?: number | null;
  lon?: number | null;
}

/** A remote sensor as the admin's list shows it (`GET /api/v1/sensors`). */
export interface RegisteredSensor {
  name: string;
  location?: [number, number];
  created: string;
  revoked_at: string | null;
  last_seen: string | null;
  /** Totals since the sensor's process started, as of its last request (none before it). */
  health: {
    lines_read?: number;
    events?: number;
    unmatched?: number;
    version?: string;
    spool_bytes?: number;
    spool_batches?: number;
    dropped_events?: number;
  };
}

export interface Meta {
  version: string;
  home: LatLon | null;
  sensors: Sensor[];
  attribution: Attribution | null;
  /** Public mode: addresses are networks (a.b.c.0/24, x:y:z::/48), no address pages. */
  public?: boolean;
  show_users?: boolean;
}

export interface TopEntry {
  key: string;
  name?: string;
  count: number;
}

export interface Stats {
  /** From the answer's header, not its body (see `MarkersResponse`). */
  published?: number | null;
  events: number;
  attempts: number;
  successes: number;
  failures: number;
  probes: number;
  unique_ips: number;
  countries: number;
  unlocated_ips: number;
  last_event: string | null;
  top_countries?: TopEntry[];
  top_asns?: TopEntry[];
  top_users?: TopEntry[];
  top_ips?: TopEntry[];
  top_sensors?: TopEntry[];
  /** Hourly, oldest first; hours without events are absent. */
  series?: SeriesPoint[];
}

export interface SeriesPoint {
  hour: string;
  events: number;
  attempts: number;
  successes: number;
}

export interface MarkerData {
  ip: string;
  lat: number;
  lon: number;
  country_code?: string | null;
  events: number;
  failures: number;
  successes: number;
  probes: number;
  /** The newest event, ms since the epoch (a number: there may be 100,000 markers). */
  lastSeen: number;
  sensor?: string | null;
  starred?: boolean;
}

export interface Unlocated {
  ip: string;
  events: number;
  last_seen: string;
}

export interface MarkersResponse {
  markers: MarkerData[];
  unlocated: Unlocated[];
  /** How many live batches the server had published when it began this answer (its
   * `X-Knockmap-Published` header): a live hello with the same count means nothing was
   * stored since. */
  published?: number | null;
}

/** `/api/v1/markers?format=columns`: one array per field, names as indexes into lists. */
interface MarkerColumns {
  countries: string[];
  sensors: string[];
  markers: {
    ip: string[];
    lat: number[];
    lon: number[];
    country: number[];
    failures: number[];
    successes: number[];
    probes: number[];
    last_seen: number[];
    sensor: number[];
    starred: number[];
  };
  unlocated: { ip: string[]; events: number[]; last_seen: number[] };
}

const isoSeconds = (s: number): string => new Date(s * 1000).toISOString();

/** The column layout back into one object per address. */
function fromColumns(c: MarkerColumns): MarkersResponse {
  const m = c.markers;
  const starred = new Set(m.starred);
  const markers: MarkerData[] = m.ip.map((ip, i) => ({
    ip,
    lat: m.lat[i],
    lon: m.lon[i],
    country_code: m.country[i] >= 0 ? c.countries[m.country[i]] : null,
    events: m.failures[i] + m.successes[i] + m.probes[i],
    failures: m.failures[i],
    successes: m.successes[i],
    probes: m.probes[i],
    lastSeen: m.last_seen[i] * 1000,
    sensor: m.sensor[i] >= 0 ? c.sensors[m.sensor[i]] : null,
    starred: starred.has(i),
  }));
  const u = c.unlocated;
  const unlocated = u.ip.map((ip, i) => ({
    ip,
    events: u.events[i],
    last_seen: isoSeconds(u.last_seen[i]),
  }));
  return { markers, unlocated };
}

export interface EventGeo {
  country_code?: string;
  country?: string;
  city?: string;
  lat?: number;
  lon?: number;
  asn?: number;
}

export interface KnockEvent {
  id?: string;
  ts: string;
  sensor?: string;
  host?: string;
  pid?: number;
  kind: string;
  outcome: Outcome;
  ip?: string;
  rhost?: string;
  port?: number;
  user?: string;
  method?: string;
  invalid_user?: boolean;
  count?: number;
  geo?: EventGeo;
  /** Live frames only: total events of this address so far. */
  ip_events?: number;
}

export interface IpGeo extends EventGeo {
  org?: string;
}

export interface IpDetail {
  ip: string;
  geo?: IpGeo;
  events: number;
  attempts: number;
  failures: number;
  successes: number;
  probes: number;
  by_kind?: Record<string, number>;
  first_seen: string;
  last_seen: string;
  users?: { user: string; count: number }[];
  sensors?: { sensor: string; count: number }[];
  hosts?: string[];
  recent?: KnockEvent[];
  links?: Record<string, string>;
  starred?: boolean;
  note?: string | null;
}

/** `GET /api/v1/ips/{ip}/shodan`: Shodan's answer as cached by the server. */
export interface ShodanAnswer {
  service: "shodan";
  status: "ok" | "not_found";
  fetched_at: string;
  host: {
    org?: string;
    isp?: string;
    os?: string;
    asn?: string;
    hostnames?: string[];
    ports?: number[];
    last_update?: string;
    services?: { port: number; transport?: string; product?: string; version?: string; banner?: string }[];
  } | null;
}

/** How the outside lookups of `IpDetail.links` are named on the page. */
export const LINK_LABELS: Record<string, string> = {
  shodan: "Shodan",
  censys: "Censys",
  talos: "Talos",
  abuseipdb: "AbuseIPDB",
  greynoise: "GreyNoise",
  rdap: "Whois (RDAP)",
};

/** An API error with the server's message when it sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** GET `path`; with `early`, the response to that request started before (see early.ts). */
async function getJson<T>(path: string, early?: Promise<Response>): Promise<T> {
  return readJson<T>(await request("GET", path, undefined, early));
}

/** Whether this browser is signed in as admin, and whether signing in is possible. */
export interface Session {
  admin: boolean;
  sign_in: boolean;
  csrf: string | null;
}

/** The CSRF token of the signed-in session, sent with every request that changes something. */
let csrfToken: string | null = null;

async function sendJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  return readJson<T>(await request(method, path, body));
}

/** The markers of the view whose filters are `query` (a query string without `?`). */
export function markersPath(query: string): string {
  return `/api/v1/markers?format=columns${query ? `&${query}` : ""}`;
}

/** Sends a request (or takes over `early`, the same request started before). */
export function request(method: string, path: string, body?: unknown, early?: Promise<Response>): Promise<Response> {
  if (early) return early;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
}

/** The server's count of live batches when it began an answer (see `MarkersResponse`). */
function publishedOf(res: Response): number | null {
  const value = res.headers.get("x-knockmap-published");
  return value === null || !/^\d+$/.test(value) ? null : Number(value);
}

/** The answer's JSON; an `ApiError` with the server's message when it is an error. */
async function readJson<T>(res: Response): Promise<T> {
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: unknown };
      if (typeof body.error === "string") message = body.error;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(message, res.status);
  }
  return (await res.json()) as T;
}

export const api = {
  meta: () => getJson<Meta>("/api/v1/meta"),
  /** `query`: the filters as a query string without `?` (see filters.ts). */
  stats: async (query = ""): Promise<Stats> => {
    const res = await request("GET", `/api/v1/stats${query ? `?${query}` : ""}`);
    return { ...(await readJson<Stats>(res)), published: publishedOf(res) };
  },
  /** `early`: the response to this request, started before (see early.ts). */
  markers: async (query = "", early?: Promise<Response>): Promise<MarkersResponse> => {
    const res = await request("GET", markersPath(query), undefined, early);
    return { ...fromColumns(await readJson<MarkerColumns>(res)), published: publishedOf(res) };
  },
  recent: (limit: number, query = "") =>
    getJson<{ events: KnockEvent[] }>(`/api/v1/recent?limit=${limit}${query ? `&${query}` : ""}`),
  ip: (ip: string) => getJson<IpDetail>(`/api/v1/ips/${encodeURIComponent(ip)}`),
  shodan: (ip: string) => getJson<ShodanAnswer>(`/api/v1/ips/${encodeURIComponent(ip)}/shodan`),
  shodanRefresh: (ip: string) => sendJson<ShodanAnswer>("POST", `/api/v1/ips/${encodeURIComponent(ip)}/shodan`),
  session: async () => keepCsrf(await getJson<Session>("/api/v1/session")),
  /** Admin only. */
  registeredSensors: () => getJson<{ sensors: RegisteredSensor[] }>("/api/v1/sensors"),
  signIn: async (password: string) =>
    keepCsrf(await sendJson<Session>("POST", "/api/v1/session", { password })),
  signOut: async () => keepCsrf(await sendJson<Session>("DELETE", "/api/v1/session")),
  star: (ip: string, starred: boolean) =>
    sendJson<{ ip: string; starred: boolean }>("POST", `/api/v1/ips/${encodeURIComponent(ip)}/star`, {
      starred,
    }),
  note: (ip: string, note: string | null) =>
    sendJson<{ ip: string; note: string | null }>("PUT", `/api/v1/ips/${encodeURIComponent(ip)}/note`, {
      note,
    }),
};

function keepCsrf(session: Session): Session {
  csrfToken = session.csrf;
  return session;
}

/** The event's weight (`count`, 1 when absent). */
export function weight(e: KnockEvent): number {
  return typeof e.count === "number" && e.count > 0 ? e.count : 1;
}

/** "Login attempts" are `failed` + `accepted`. */
export function isAttempt(e: KnockEvent): boolean {
  return e.kind === "failed" || e.kind === "accepted";
}

export function hasLocation(g: EventGeo | undefined): g is EventGeo & LatLon {
  return !!g && Number.isFinite(g.lat) && Number.isFinite(g.lon);
}
