// The per-address popup, filled from GET /api/v1/ips/{ip}. Everything is inserted as
// text: user names, host names and sensor names are attacker- or operator-controlled.

import { api, ApiError, LINK_LABELS, type IpDetail, type MarkerData } from "./api";
import { append, codeText, countryName, el, externalLink, formatCount, formatDateTime, visibleText } from "./dom";
import { COLORS, markerOutcome } from "./markers";

const TOP_USERS = 6;

export class Popup {
  private readonly root: HTMLElement;
  private readonly body: HTMLElement;
  private request = 0;
  private anchor: { x: number; y: number } | null = null;
  currentIp: string | null = null;
  /** Public mode: the server has no address pages; the popup shows what the map knows. */
  private publicLookup: ((network: string) => MarkerData | undefined) | null = null;

  constructor(parent: HTMLElement) {
    const close = el("button", "popup-close", "×");
    close.type = "button";
    close.title = "Close";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", () => this.close());
    this.body = el("div", "popup-body");
    this.root = el("section", "popup", close, this.body);
    this.root.hidden = true;
    this.root.setAttribute("role", "dialog");
    this.root.setAttribute("aria-live", "polite");
    parent.appendChild(this.root);
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.close();
    });
  }

  /** Switches to public mode, where `lookup` gives a network's marker. */
  setPublic(lookup: (network: string) => MarkerData | undefined): void {
    this.publicLookup = lookup;
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  /** Open for `ip` next to the client point (x, y), then load its details. */
  async open(ip: string, x: number, y: number): Promise<void> {
    const req = ++this.request;
    this.currentIp = ip;
    this.anchor = { x, y };
    this.body.replaceChildren(el("h2", "popup-ip", ip), el("p", "popup-loading", "Loading…"));
    this.root.hidden = false;
    this.place();
    if (this.publicLookup) {
      this.renderPublic(ip, this.publicLookup(ip));
      this.place();
      return;
    }
    try {
      const detail = await api.ip(ip);
      if (req !== this.request) return;
      this.render(detail);
    } catch (err) {
      if (req !== this.request) return;
      const msg =
        err instanceof ApiError && err.status === 404
          ? "No events stored for this address."
          : `Could not load details: ${err instanceof Error ? err.message : String(err)}`;
      this.body.replaceChildren(el("h2", "popup-ip", ip), el("p", "popup-error", msg));
    }
    this.place();
  }

  close(): void {
    this.request++;
    this.currentIp = null;
    this.root.hidden = true;
  }

  /** Refresh the open popup (e.g. after new events for its address). */
  refresh(): void {
    if (this.currentIp && this.anchor) void this.open(this.currentIp, this.anchor.x, this.anchor.y);
  }

  private render(d: IpDetail): void {
    const g = d.geo ?? {};
    const rows = el("dl", "popup-grid");
    const row = (label: string, ...value: (Node | string)[]) => {
      rows.append(el("dt", null, label), el("dd", null, ...value));
    };

    const place = [g.city, g.country ?? g.country_code].filter(Boolean).join(", ");
    const country = g.country && g.country_code ? `${place} (${g.country_code})` : place;
    row("Location", country || "Unknown");
    if (g.asn !== undefined || g.org) {
      row("Network", [g.asn !== undefined ? `AS${g.asn}` : "", g.org ?? ""].filter(Boolean).join(" "));
    }
    row("First seen", formatDateTime(d.first_seen, true));
    row("Last seen", formatDateTime(d.last_seen, true));
    const sensors = (d.sensors ?? []).map((s) => `${s.sensor} (${formatCount(s.count)})`);
    if (sensors.length) row(sensors.length > 1 ? "Sensors" : "Sensor", sensors.join(", "));
    if (d.hosts?.length) row(d.hosts.length > 1 ? "Hosts" : "Host", d.hosts.join(", "));
    if (d.note) row("Note", visibleText(d.note));

    const counts = el(
      "div",
      "popup-counts",
      count("Failures", d.failures, COLORS.failure),
      count("Successes", d.successes, COLORS.success),
      count("Probes", d.probes, COLORS.probe),
    );

    const users = d.users ?? [];
    const usersBlock = users.length
      ? el(
          "div",
          "popup-users",
          el("h3", null, "Users tried"),
          el(
            "ul",
            null,
            ...users.slice(0, TOP_USERS).map((u) =>
              el("li", null, codeText(u.user, "user", 40), el("span", "n", formatCount(u.count))),
            ),
          ),
          users.length > TOP_USERS ? el("p", "more", `and ${users.length - TOP_USERS} more`) : null,
        )
      : null;

    const details = el("a", "popup-details", "All about this address →");
    details.href = `/ip/${encodeURIComponent(d.ip)}`;
    const links = Object.entries(d.links ?? {});
    const linksBlock = links.length
      ? el(
          "nav",
          "popup-links",
          ...links.map(([k, href]) => externalLink(href, LINK_LABELS[k] ?? k)),
        )
      : null;

    const title = el("h2", "popup-ip", d.ip);
    title.classList.add(`outcome-${markerOutcome(d)}`);
    this.body.replaceChildren();
    append(
      this.body,
      title,
      d.starred ? el("p", "popup-star", "★ Starred") : null,
      counts,
      rows,
      usersBlock,
      linksBlock,
      el("p", "popup-more", details),
    );
  }

  /** A network in public mode: what its marker holds. */
  private renderPublic(network: string, m: MarkerData | undefined): void {
    const rows = el("dl", "popup-grid");
    const row = (label: string, value: string) => rows.append(el("dt", null, label), el("dd", null, value));
    if (m?.country_code) row("Country", countryLabel(m.country_code));
    if (m) row("Last seen", formatDateTime(m.lastSeen, true));
    if (m?.sensor) row("Sensor", m.sensor);
    const counts = m
      ? el(
          "div",
          "popup-counts",
          count("Failures", m.failures, COLORS.failure),
          count("Successes", m.successes, COLORS.success),
          count("Probes", m.probes, COLORS.probe),
        )
      : null;
    const title = el("h2", "popup-ip", network);
    if (m) title.classList.add(`outcome-${markerOutcome(m)}`);
    this.body.replaceChildren();
    append(this.body, title, el("p", "popup-note", "A network (addresses are not shown on this page)."), counts, rows);
  }

  /** Keep the popup next to its anchor and inside the window. */
  private place(): void {
    if (!this.anchor) return;
    const margin = 12;
    const w = this.root.offsetWidth;
    const h = this.root.offsetHeight;
    let left = this.anchor.x + 16;
    let top = this.anchor.y - h / 2;
    if (left + w + margin > window.innerWidth) left = this.anchor.x - 16 - w;
    left = Math.max(margin, Math.min(left, window.innerWidth - w - margin));
    top = Math.max(margin, Math.min(top, window.innerHeight - h - margin));
    this.root.style.left = `${Math.round(left)}px`;
    this.root.style.top = `${Math.round(top)}px`;
  }

  contains(node: Node): boolean {
    return this.root.contains(node);
  }
}

function count(label: string, n: number, color: string): HTMLElement {
  const swatch = el("span", "swatch");
  swatch.style.backgroundColor = color;
  return el("div", "count", swatch, el("strong", null, formatCount(n)), el("span", "label", label));
}

function countryLabel(code: string): string {
  const name = countryName(code);
  return name ? `${name} (${code})` : code;
}
