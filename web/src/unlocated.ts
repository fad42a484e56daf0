// The list of addresses without a location: counted in the header, listed here on demand,
// never silently dropped.

import { api } from "./api";
import { byId, el, formatCount } from "./dom";

export class UnlocatedPanel {
  private readonly toggle = byId<HTMLButtonElement>("stat-unlocated");
  private readonly panel = byId("unlocated-panel");
  private readonly list = byId("unlocated-list");

  /** `query` gives the filters the list follows (see filters.ts). */
  constructor(
    private readonly openIp: (ip: string, x: number, y: number) => void,
    private readonly query: () => string = () => "",
  ) {
    this.toggle.addEventListener("click", () => void this.setOpen(this.panel.hidden !== false));
  }

  private async setOpen(open: boolean): Promise<void> {
    this.panel.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    if (open) await this.refresh();
  }

  /** Reloads the list from the server (when open). */
  async refresh(): Promise<void> {
    if (this.panel.hidden !== false) return;
    let rows: { ip: string; events: number }[];
    try {
      rows = (await api.markers(this.query())).unlocated ?? [];
    } catch {
      return;
    }
    this.list.replaceChildren(
      ...(rows.length === 0
        ? [el("li", "empty", "Every address has a location.")]
        : rows.map((row) => {
            const item = el("li", "clickable", el("span", null, row.ip), el("span", "k", `${formatCount(row.events)} events`));
            item.tabIndex = 0;
            const open = () => {
              const r = item.getBoundingClientRect();
              this.openIp(row.ip, r.left, r.bottom);
            };
            item.addEventListener("click", open);
            item.addEventListener("keydown", (ev) => {
              if (ev.key === "Enter" || ev.key === " ") {
                ev.preventDefault();
                open();
              }
            });
            return item;
          })),
    );
  }
}
