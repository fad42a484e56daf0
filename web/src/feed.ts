// The feed of latest events in a corner: time, address, user, kind. Text only.

import type { KnockEvent } from "./api";
import { weight } from "./api";
import { byId, el, formatTime, visibleString, visibleText } from "./dom";

const MAX_ITEMS = 20;

export class Feed {
  private readonly list = byId<HTMLOListElement>("feed-list");
  private readonly seen = new Set<string>();

  constructor(private readonly onSelect: (ip: string, x: number, y: number) => void) {}

  /** Replace the feed with events from /api/v1/recent (newest first). */
  reset(events: KnockEvent[]): void {
    this.list.replaceChildren();
    this.seen.clear();
    for (const e of events.slice(0, MAX_ITEMS).reverse()) this.add(e);
  }

  /** Add one event at the top; `alert` marks a success after failures. */
  add(e: KnockEvent, alert = false): void {
    if (e.id) {
      if (this.seen.has(e.id)) return;
      this.seen.add(e.id);
    }
    const who = e.ip ?? e.rhost ?? "?";
    const n = weight(e);
    const time = el("time", "t", formatTime(e.ts));
    time.dateTime = e.ts;
    time.title = new Date(e.ts).toString();
    const user = e.user !== undefined ? el("span", "u", visibleText(e.user)) : el("span", "u none", "—");
    user.title = visibleString(e.user ?? "");
    const item = el(
      "li",
      `outcome-${e.outcome}`,
      el("span", "dot"),
      time,
      el("span", "ip", who),
      user,
      el("span", "k", n > 1 ? `${e.kind} ×${n}` : e.kind),
    );
    if (e.ip) {
      const ip = e.ip;
      item.tabIndex = 0;
      item.classList.add("clickable");
      const select = () => {
        const r = item.getBoundingClientRect();
        this.onSelect(ip, r.right, r.top + r.height / 2);
      };
      item.addEventListener("click", select);
      item.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          select();
        }
      });
    }
    if (alert) {
      item.classList.add("alert");
      // Announced by screen readers; on the label, as a list may hold only list items.
      const label = el("span", "alert-label", "⚠ login after failures");
      label.setAttribute("role", "alert");
      item.prepend(label);
    }
    if (e.id) item.dataset.id = e.id;
    this.list.prepend(item);
    while (this.list.children.length > MAX_ITEMS) {
      const last = this.list.lastElementChild as HTMLElement | null;
      if (!last) break;
      if (last.dataset.id) this.seen.delete(last.dataset.id);
      last.remove();
    }
  }
}
