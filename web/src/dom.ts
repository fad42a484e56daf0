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

function parseTime(ts: string | null | undefined): Date | null {
  if (!ts) return null;
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Local time of day, e.g. "19:16:01". */
export function formatTime(ts: string | null | undefined): string {
  const d = parseTime(ts);
  return d ? timeFmt.format(d) : "—";
}

/** Local date and time; the date is left out for today. */
export function formatDateTime(ts: string | null | undefined, alwaysDate = false): string {
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
