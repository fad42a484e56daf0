// The Shodan card of an attacker's page: open ports, organisation, OS, host names and
// service banners, as cached by the server (fetched once; an admin can fetch again).
// Banners are attacker-controlled: inserted as text, folded when long.

import { api, ApiError, type ShodanAnswer } from "./api";
import { codeText, el, formatDateTime } from "./dom";

/** A card that fills itself in. `canRefresh`: the viewer is an admin. */
export function shodanCard(ip: string, canRefresh: boolean): HTMLElement {
  const body = el("div", "shodan-body", el("p", "muted", "Asking Shodan…"));
  const card = el("section", "card shodan", el("h2", null, "Shodan"), body);
  card.setAttribute("aria-label", "Shodan");
  card.setAttribute("aria-live", "polite");
  const show = (load: Promise<ShodanAnswer>) => {
    load.then(
      (answer) => body.replaceChildren(...render(answer), ...refresh()),
      (err) => {
        const notEnabled = err instanceof ApiError && err.status === 404;
        const message = el("p", notEnabled ? "muted" : "page-error", err instanceof Error ? err.message : String(err));
        if (!notEnabled) message.setAttribute("role", "alert");
        body.replaceChildren(message, ...(notEnabled ? [] : refresh()));
      },
    );
  };
  const refresh = (): HTMLElement[] => {
    if (!canRefresh) return [];
    const button = el("button", null, "Ask Shodan again");
    button.type = "button";
    button.id = "shodan-refresh";
    button.addEventListener("click", () => {
      button.disabled = true;
      body.replaceChildren(el("p", "muted", "Asking Shodan…"));
      show(api.shodanRefresh(ip));
    });
    return [el("div", "buttons", button)];
  };
  show(api.shodan(ip));
  return card;
}

function render(a: ShodanAnswer): HTMLElement[] {
  const checked = el("p", "muted shodan-date", `Checked ${formatDateTime(a.fetched_at, true)}`);
  if (a.status === "not_found" || !a.host) {
    return [el("p", null, "Shodan knows nothing about this address."), checked];
  }
  const h = a.host;
  const facts = el("dl", "facts");
  const fact = (label: string, value: string | Node | null | undefined) => {
    if (value === null || value === undefined || value === "") return;
    facts.append(el("dt", null, label), el("dd", null, typeof value === "string" ? codeText(value, "plain", 120) : value));
  };
  fact("Organisation", h.org);
  fact("ISP", h.isp);
  fact("OS", h.os);
  fact("ASN", h.asn);
  fact("Host names", (h.hostnames ?? []).join(", "));
  fact("Open ports", (h.ports ?? []).join(", ") || "none seen");
  fact("Shodan's last scan", h.last_update);
  const services = (h.services ?? []).map((s) => {
    const what = [s.transport ? `${s.port}/${s.transport}` : String(s.port), s.product, s.version].filter(Boolean).join(" ");
    const banner = s.banner ? el("pre", "shodan-banner", codeText(s.banner, "banner-text", 400, true)) : null;
    return el("li", null, el("strong", null, what), banner);
  });
  return [facts, services.length ? el("ul", "services", ...services) : el("span"), checked];
}
