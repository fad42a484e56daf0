// Tiny DOM helpers. Text is always inserted as text nodes, never parsed as HTML.

type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  append(node, ...children);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

/** An external link that opens in a new tab without leaking the opener or referrer. */
export function externalLink(href: string, text: string, className?: string): HTMLAnchorElement {
  const a = el("a", className ?? null, text);
  // Only http(s) links are followed; anything else is shown as plain text.
  if (/^https?:\/\//i.test(href)) {
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  }
  return a;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node as T;
}

const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

const shortDateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

/** Resolves once the browser has painted what is drawn now (or after 200 ms, for a page in
 * the background, which does not paint). */
export function afterNextPaint(): Promise<void> {
  return new Promise((resolve) => {
    // A frame's callbacks run just before it is painted; a task queued there runs after.
    requestAnimationFrame(() => setTimeout(resolve, 0));
    setTimeout(resolve, 200);
  });
}

/** A time as an RFC 3339 string or as ms since the epoch. */
type Time = string | number | null | undefined;

function parseTime(ts: Time): Date | null {
  if (ts === null || ts === undefined || ts === "") return null;
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Local time of day, e.g. "19:16:01". */
export function formatTime(ts: Time): string {
  const d = parseTime(ts);
  return d ? timeFmt.format(d) : "—";
}

/** Local time of day for today, else the month, day and time without seconds (and the year
 * only when it is not this one): short enough for the counters in the top bar. */
export function formatShortDateTime(ts: Time): string {
  const d = parseTime(ts);
  if (!d) return "—";
  const now = new Date();
  if (d.getFullYear() !== now.getFullYear()) return dateTimeFmt.format(d);
  const sameDay = d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? timeFmt.format(d) : shortDateTimeFmt.format(d);
}

/** Local date and time; the date is left out for today. */
export function formatDateTime(ts: Time, alwaysDate = false): string {
  const d = parseTime(ts);
  if (!d) return "—";
  const now = new Date();
  const sameDay =
    d.getFullYear() === now.getFullYear() &&
    d.getMonth() === now.getMonth() &&
    d.getDate() === now.getDate();
  return sameDay && !alwaysDate ? timeFmt.format(d) : dateTimeFmt.format(d);
}

const numberFmt = new Intl.NumberFormat();
export function formatCount(n: number | null | undefined): string {
  return typeof n === "number" && Number.isFinite(n) ? numberFmt.format(n) : "—";
}

/** Control, zero-width and direction-changing characters: invisible, or able to reorder
 * the text around them (`admin\u202Egnp.exe` shows as "adminexe.png"). */
const HIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** Attacker-controlled text with every hidden or direction-changing character shown as a
 * visible `‹U+202E›` mark, so a name can neither hide text nor reorder it. */
export function visibleText(text: string, lines = false): DocumentFragment {
  const out = document.createDocumentFragment();
  // Multi-line text (service banners): line breaks and tabs are kept as such.
  if (lines) text = text.replace(/\r\n/g, "\n");
  let last = 0;
  for (const m of text.matchAll(HIDDEN_CHARS)) {
    if (lines && (m[0] === "\n" || m[0] === "\t")) continue;
    const at = m.index ?? 0;
    if (at > last) out.append(text.slice(last, at));
    out.append(el("span", "hidden-char", hiddenMark(m[0])));
    last = at + m[0].length;
  }
  if (last < text.length) out.append(text.slice(last));
  return out;
}

function hiddenMark(c: string): string {
  return `‹U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}›`;
}

/** [`visibleText`] as a plain string, for attributes such as `title`. */
export function visibleString(text: string): string {
  return text.replace(HIDDEN_CHARS, hiddenMark);
}

/** Attacker-controlled text in a `<code>` (see [`visibleText`]): shown whole when short;
 * when longer than `limit` characters, folded behind its beginning and its length, to be
 * opened on demand. */
export function codeText(text: string, className: string, limit = 80, lines = false): HTMLElement {
  const code = el("code", className, visibleText(text, lines));
  if (text.length <= limit) return code;
  const summary = el(
    "summary",
    null,
    el("code", null, visibleText(text.slice(0, limit), lines)),
    `… (${formatCount(text.length)} characters)`,
  );
  return el("details", "long-text", summary, code);
}

const regionNames = new Intl.DisplayNames(["en"], { type: "region" });

/** The English name of an ISO 3166-1 alpha-2 country code; null when there is none. */
export function countryName(code: string): string | null {
  try {
    const name = regionNames.of(code);
    return name && name !== code ? name : null;
  } catch {
    return null;
  }
}
