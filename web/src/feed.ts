// The feed of latest events in a corner: time, sensor, address, country flag, user, kind.
// Text only. It can be paused to read it: events that arrive meanwhile wait, counted on the
// button, and are added when it resumes (the map and the counters go on).

import type { KnockEvent } from "./api";
import { weight } from "./api";
import { byId, countryName, el, formatTime, visibleString, visibleText } from "./dom";

const MAX_ITEMS = 20;

export class Feed {
  private readonly list = byId<HTMLOListElement>("feed-list");
  private readonly pauseButton = byId<HTMLButtonElement>("feed-pause");
  private readonly seen = new Set<string>();
  /** While paused, what arrived, oldest first (at most `MAX_ITEMS`). */
  private waiting: { e: KnockEvent; alert: boolean }[] | null = null;
  private missed = 0;

  constructor(private readonly onSelect: (ip: string, x: number, y: number) => void) {
    this.pauseButton.addEventListener("click", () => (this.waiting ? this.resume() : this.pause()));
  }

  /** Replace the feed with events from /api/v1/recent (newest first). */
  reset(events: KnockEvent[]): void {
    this.list.replaceChildren();
    this.seen.clear();
    if (this.waiting) {
      this.waiting = [];
      this.missed = 0;
      this.renderButton();
    }
    for (const e of events.slice(0, MAX_ITEMS).reverse()) this.show(e, false);
  }

  /** Add one event at the top (or keep it for later while paused); `alert` marks a success
   * after failures. */
  add(e: KnockEvent, alert = false): void {
    if (this.waiting) {
      this.waiting.push({ e, alert });
      if (this.waiting.length > MAX_ITEMS) this.waiting.shift();
      this.missed++;
      this.renderButton();
      return;
    }
    this.show(e, alert);
  }

  private pause(): void {
    this.waiting = [];
    this.missed = 0;
    this.renderButton();
  }

  private resume(): void {
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const { e, alert } of waiting) this.show(e, alert);
    this.renderButton();
  }

  private renderButton(): void {
    const paused = this.waiting !== null;
    this.pauseButton.setAttribute("aria-pressed", String(paused));
    this.pauseButton.textContent = !paused ? "Pause" : this.missed ? `Resume (${this.missed} new)` : "Resume";
  }

  private show(e: KnockEvent, alert: boolean): void {
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
    const sensor = el("span", "s", visibleString(e.sensor ?? "—"));
    sensor.title = `Sensor: ${visibleString(e.sensor ?? "unknown")}`;
    const item = el(
      "li",
      `outcome-${e.outcome}`,
      el("span", "dot"),
      time,
      sensor,
      flag(e.geo?.country_code),
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

/** Whether this browser draws flag emoji (Windows and machines without a colour emoji font
 * show two boxes or two letters): a flag drawn on a canvas has colour in it. */
let flagsDrawn: boolean | null = null;
function canDrawFlags(): boolean {
  if (flagsDrawn !== null) return flagsDrawn;
  flagsDrawn = false;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 24;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) return flagsDrawn;
  ctx.font = '20px "Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", sans-serif';
  ctx.textBaseline = "top";
  ctx.fillText("\u{1f1ec}\u{1f1e7}", 0, 0);
  const px = ctx.getImageData(0, 0, 24, 24).data;
  for (let i = 0; i < px.length; i += 4) {
    const [r, g, b] = [px[i]!, px[i + 1]!, px[i + 2]!];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 40) {
      flagsDrawn = true;
      break;
    }
  }
  return flagsDrawn;
}

/** The flag of a country code (its two regional-indicator letters, or the code itself where
 * flags cannot be drawn), named for screen readers and in a tooltip; a dot when the address
 * has no country. */
function flag(code: string | undefined): HTMLElement {
  if (!code || !/^[A-Z]{2}$/.test(code)) return el("span", "flag none", "·");
  const letters = canDrawFlags()
    ? [...code].map((c) => String.fromCodePoint(0x1f1e6 + c.charCodeAt(0) - 65)).join("")
    : code;
  const name = countryName(code) ?? code;
  const span = el("span", "flag", letters);
  span.title = `${name} (${code})`;
  span.setAttribute("role", "img");
  span.setAttribute("aria-label", name);
  return span;
}
