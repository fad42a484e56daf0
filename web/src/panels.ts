// The side panel: top countries, networks, user names, addresses and sensors of the window,
// the addresses that logged in successfully, and the starred ("watched") ones. A country, a
// network, a user name or a sensor narrows the whole page when clicked; an address opens its
// popup.

import type { MarkerData, Stats, TopEntry } from "./api";
import { activityChart } from "./chart";
import { byId, el, formatCount, formatDateTime, visibleString, visibleText } from "./dom";

/** What a click on a row asks for. */
export type PanelAction =
  | { kind: "country"; code: string }
  | { kind: "sensor"; name: string }
  | { kind: "asn"; asn: number }
  | { kind: "user"; name: string }
  | { kind: "ip"; ip: string; x: number; y: number };

const ROWS = 8;

export class SidePanel {
  private readonly root = byId("side-panel");
  /** Public mode without user names: the list is left out rather than shown empty. */
  hideUsers = false;
  /** Public mode: stars are not shown. */
  hideWatched = false;

  constructor(private readonly onAction: (action: PanelAction) => void) {}

  /** `range`: the window's bounds in ms (null: open). */
  render(stats: Stats, markers: Iterable<MarkerData>, range: { since: number | null; until: number | null }): void {
    const successes: MarkerData[] = [];
    const watched: MarkerData[] = [];
    for (const m of markers) {
      if (m.successes > 0) successes.push(m);
      if (m.starred) watched.push(m);
    }
    // Rows are made for what is shown only: there may be thousands.
    successes.sort((a, b) => b.lastSeen - a.lastSeen).length = Math.min(successes.length, ROWS);
    watched.sort((a, b) => b.events - a.events).length = Math.min(watched.length, ROWS);
    const activity = el("section", "side-section side-activity", el("h2", null, "Activity"), activityChart(stats.series ?? [], range.since, range.until));
    activity.setAttribute("aria-label", "Activity");
    this.root.replaceChildren(
      activity,
      this.section(
        "Successful logins",
        successes.map((m) => this.ipRow(m.ip, `${formatCount(m.successes)} ✓ · ${formatDateTime(m.lastSeen)}`, m.failures > 0)),
        "None in this window.",
        "successes",
      ),
      this.hideWatched
        ? el("span")
        : this.section(
            "Watched",
            watched.map((m) => this.ipRow(m.ip, formatCount(m.events))),
            "No starred attackers.",
            "watched",
          ),
      this.section(
        "Countries",
        (stats.top_countries ?? []).map((t) =>
          this.row(
            t.name ? `${t.name} (${t.key})` : t.key,
            t.count,
            { kind: "country", code: t.key },
            `Show only ${t.name ?? t.key}`,
          ),
        ),
        "No located attackers.",
        "countries",
      ),
      this.section(
        "Networks",
        (stats.top_asns ?? []).flatMap((t) => {
          const asn = Number(t.key);
          if (!Number.isInteger(asn)) return [];
          const label = asnLabel(t);
          return [this.row(label, t.count, { kind: "asn", asn }, `Show only ${label}`)];
        }),
        "Unknown.",
        "asns",
      ),
      this.hideUsers
        ? el("span")
        : this.section(
            "User names",
            (stats.top_users ?? []).map((t) =>
              this.row(
                userLabel(t.key),
                t.count,
                { kind: "user", name: t.key },
                `Show only attempts on the user name ${visibleString(t.key).slice(0, 200)}`,
              ),
            ),
            "None tried.",
            "users",
          ),
      this.section(
        "Addresses",
        (stats.top_ips ?? []).map((t) => this.ipRow(t.key, formatCount(t.count))),
        "None.",
        "ips",
      ),
      this.section(
        "Sensors",
        (stats.top_sensors ?? []).map((t) =>
          this.row(t.key, t.count, { kind: "sensor", name: t.key }, `Show only what ${t.key} saw`),
        ),
        "None.",
        "sensors",
      ),
    );
  }

  private section(title: string, rows: HTMLElement[], empty: string, name: string): HTMLElement {
    const list = el("ol", "top-list", ...rows.slice(0, ROWS));
    const body = rows.length ? list : el("p", "muted", empty);
    const s = el("section", `side-section side-${name}`, el("h2", null, title), body);
    s.setAttribute("aria-label", title);
    return s;
  }

  /** A row that narrows the page when clicked. */
  private row(label: string | Node, count: number, action: PanelAction, title: string): HTMLElement {
    const button = el("button", "row-button", el("span", "label", label), el("span", "n", formatCount(count)));
    button.type = "button";
    button.title = title;
    button.addEventListener("click", () => this.onAction(action));
    return el("li", null, button);
  }

  private ipRow(ip: string, right: string, alert = false): HTMLElement {
    const button = el("button", "row-button", el("span", "label ip", ip), el("span", "n", right));
    button.type = "button";
    button.title = `Details of ${ip}`;
    button.addEventListener("click", () => {
      const r = button.getBoundingClientRect();
      this.onAction({ kind: "ip", ip, x: r.left, y: r.top + r.height / 2 });
    });
    const li = el("li", alert ? "alert" : null, button);
    if (alert) li.title = "Logged in after failing: check this address";
    return li;
  }
}

/** A user name as a row shows it: hidden characters made visible, long names cut. */
function userLabel(name: string, limit = 32): HTMLElement {
  if (name.length <= limit) return el("code", "user", visibleText(name));
  return el("code", "user", visibleText(name.slice(0, limit)), `… (${formatCount(name.length)} characters)`);
}

function asnLabel(t: TopEntry): string {
  return t.name ? `AS${t.key} ${t.name}` : `AS${t.key}`;
}
