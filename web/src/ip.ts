// An attacker's page, /ip/{ip}: everything stored about one address, links to outside
// lookups, and (for an admin) its star and note. Every stored string is inserted as text.

import { AdminSession } from "./admin";
import { api, ApiError, LINK_LABELS, type IpDetail, type KnockEvent } from "./api";
import { append, byId, codeText, el, externalLink, formatCount, formatDateTime, visibleText } from "./dom";
import { markerOutcome } from "./markers";
import { shodanCard } from "./shodan";

const main = byId("ip-main");
const admin = new AdminSession(byId("admin-area"));
let detail: IpDetail | null = null;

/** The address in the path, as the user wrote it (the server canonicalises it). */
function addressInPath(): string {
  const raw = location.pathname.replace(/^\/ip\//, "").replace(/\/+$/, "");
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

async function load(): Promise<void> {
  const ip = addressInPath();
  try {
    detail = await api.ip(ip);
    document.title = `${detail.ip} — knockmap`;
    render(detail);
  } catch (err) {
    const message =
      err instanceof ApiError && err.status === 404
        ? "No events are stored for this address."
        : `Could not load this address: ${err instanceof Error ? err.message : String(err)}`;
    main.replaceChildren(el("h1", "ip-title", ip), el("p", "page-error", message));
  }
}

function section(title: string, ...body: (Node | null)[]): HTMLElement {
  const s = el("section", "card", el("h2", null, title));
  append(s, ...body);
  return s;
}

function table(head: string[], rows: (Node | string)[][], className?: string): HTMLTableElement {
  const t = el("table", className ?? null);
  t.append(el("thead", null, el("tr", null, ...head.map((h) => el("th", null, h)))));
  t.append(el("tbody", null, ...rows.map((r) => el("tr", null, ...r.map((c) => el("td", null, c))))));
  return t;
}

function render(d: IpDetail): void {
  const g = d.geo ?? {};
  const title = el("h1", `ip-title outcome-${markerOutcome(d)}`, d.ip);
  const star = d.starred ? el("span", "star-badge", "★ Starred") : null;
  const head = el("div", "ip-head", title, star, adminStar(d));

  const totals = el(
    "dl",
    "totals",
    ...(
      [
        ["Events", d.events],
        ["Login attempts", d.attempts],
        ["Failures", d.failures],
        ["Successes", d.successes],
        ["Probes", d.probes],
      ] as [string, number][]
    ).map(([label, n]) => el("div", "total", el("dt", null, label), el("dd", null, formatCount(n)))),
  );

  const facts = el("dl", "facts");
  const fact = (label: string, value: string | Node) => facts.append(el("dt", null, label), el("dd", null, value));
  const place = [g.city, g.country].filter(Boolean).join(", ");
  fact("Location", place ? (g.country_code ? `${place} (${g.country_code})` : place) : "Unknown");
  if (Number.isFinite(g.lat) && Number.isFinite(g.lon)) {
    fact("Coordinates", `${g.lat!.toFixed(4)}, ${g.lon!.toFixed(4)}`);
  }
  fact("Network", [g.asn !== undefined ? `AS${g.asn}` : "", g.org ?? ""].filter(Boolean).join(" ") || "Unknown");
  fact("First seen", formatDateTime(d.first_seen, true));
  fact("Last seen", formatDateTime(d.last_seen, true));
  if (d.hosts?.length) fact(d.hosts.length > 1 ? "Logged by hosts" : "Logged by host", d.hosts.join(", "));

  const kinds = Object.entries(d.by_kind ?? {}).sort((a, b) => b[1] - a[1]);
  const users = d.users ?? [];
  const sensors = d.sensors ?? [];
  const recent = d.recent ?? [];
  const links = Object.entries(d.links ?? {});

  main.replaceChildren();
  append(
    main,
    head,
    totals,
    el(
      "div",
      "cards",
      section("Where and who", facts),
      section("Look it up elsewhere", el("ul", "lookups", ...links.map(([k, href]) => el("li", null, externalLink(href, LINK_LABELS[k] ?? k))))),
      section("Events by kind", kinds.length ? table(["Kind", "Events"], kinds.map(([k, n]) => [k, formatCount(n)])) : el("p", "muted", "None")),
      section(
        "User names tried",
        users.length
          ? table(["User", "Tries"], users.map((u) => [codeText(u.user, "user"), formatCount(u.count)]), "users")
          : el("p", "muted", "None: this address only probed."),
      ),
      section("Sensors hit", table(["Sensor", "Events"], sensors.map((s) => [s.sensor, formatCount(s.count)]))),
      noteSection(d),
      shodanCard(d.ip, admin.isAdmin),
    ),
    section(
      `Latest ${recent.length} events`,
      table(["Time", "Sensor", "Kind", "User", "Port", "Method"], recent.map(eventRow), "events"),
    ),
  );
}

function eventRow(e: KnockEvent): (Node | string)[] {
  const kind = el("span", `kind outcome-${e.outcome}`, e.count && e.count > 1 ? `${e.kind} ×${e.count}` : e.kind);
  return [
    el("span", "nowrap", formatDateTime(e.ts, true)),
    e.sensor ?? "",
    kind,
    e.user !== undefined ? codeText(e.user, "user") : "",
    e.port !== undefined ? String(e.port) : "",
    e.method ?? "",
  ];
}

/** The star toggle, for an admin. */
function adminStar(d: IpDetail): HTMLElement | null {
  if (!admin.isAdmin) return null;
  const button = el("button", "star-toggle", d.starred ? "Unstar" : "★ Star");
  button.type = "button";
  button.id = "star-toggle";
  button.setAttribute("aria-pressed", String(!!d.starred));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api.star(d.ip, !d.starred);
      await load();
    } catch (err) {
      button.disabled = false;
      button.textContent = `Could not change the star: ${err instanceof Error ? err.message : String(err)}`;
    }
  });
  return button;
}

/** The note: shown to everyone, editable by an admin. */
function noteSection(d: IpDetail): HTMLElement {
  const shown = d.note ? el("p", "note-text", visibleText(d.note)) : el("p", "muted", "No note.");
  if (!admin.isAdmin) return section("Note", shown);
  const text = el("textarea", null);
  text.id = "note-text";
  text.rows = 4;
  text.maxLength = 10_000;
  text.value = d.note ?? "";
  const label = el("label", "visually-hidden", "Note on this address");
  label.htmlFor = text.id;
  const save = el("button", "primary", "Save note");
  save.type = "submit";
  const status = el("span", "form-status");
  status.setAttribute("role", "status");
  const form = el("form", "note-form", label, text, el("div", "buttons", save, status));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    save.disabled = true;
    status.textContent = "Saving…";
    try {
      await api.note(d.ip, text.value.trim() === "" ? null : text.value);
      status.textContent = "Saved.";
      d.note = text.value.trim() === "" ? null : text.value;
    } catch (err) {
      status.textContent = `Not saved: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      save.disabled = false;
    }
  });
  return section("Note", form);
}

// Star and note controls follow the signed-in state.
admin.onChange(() => {
  if (detail) render(detail);
});
void load();
