// The bar under the header: the time window buttons, the custom range form, and the active
// filters as removable chips.

import { byId, el, visibleString } from "./dom";
import { WINDOWS, WINDOW_LABELS, type ViewState, type WindowName } from "./filters";

export class FilterBar {
  private readonly windows = byId("window-buttons");
  private readonly custom = byId<HTMLFormElement>("custom-range");
  private readonly since = byId<HTMLInputElement>("custom-since");
  private readonly until = byId<HTMLInputElement>("custom-until");
  private readonly chips = byId("filter-chips");
  private state: ViewState | null = null;

  /** `onChange` gets the new state whenever the user changes it. */
  constructor(
    private readonly onChange: (state: ViewState) => void,
    private readonly countryName: (code: string) => string | null,
    private readonly networkName: (asn: number) => string | null,
  ) {
    for (const w of WINDOWS) {
      const b = el("button", null, WINDOW_LABELS[w]);
      b.type = "button";
      b.dataset.window = w;
      b.addEventListener("click", () => this.pickWindow(w));
      this.windows.append(b);
    }
    this.custom.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!this.state) return;
      const since = localToIso(this.since.value);
      const until = localToIso(this.until.value);
      if (since && until && Date.parse(since) >= Date.parse(until)) {
        this.until.setCustomValidity("The end must be after the start.");
        this.until.reportValidity();
        return;
      }
      this.until.setCustomValidity("");
      this.onChange({ ...this.state, window: "custom", since, until });
    });
  }

  render(state: ViewState): void {
    const before = this.state;
    this.state = state;
    for (const b of this.windows.querySelectorAll<HTMLButtonElement>("button")) {
      b.setAttribute("aria-pressed", String(b.dataset.window === state.window));
    }
    this.custom.hidden = state.window !== "custom";
    // The range is written into the form only when it changed: drawn again for the same
    // view, the form keeps what is being typed into it.
    const rangeChanged =
      before?.window !== state.window || before.since !== state.since || before.until !== state.until;
    if (state.window === "custom" && rangeChanged) {
      this.since.value = isoToLocal(state.since);
      this.until.value = isoToLocal(state.until);
    }
    this.chips.replaceChildren();
    if (state.country) {
      const name = this.countryName(state.country);
      this.chip(`Country: ${name ? `${name} (${state.country})` : state.country}`, { ...state, country: null });
    }
    if (state.sensor) this.chip(`Sensor: ${visibleString(state.sensor)}`, { ...state, sensor: null });
    if (state.asn !== null) {
      const org = this.networkName(state.asn);
      this.chip(`Network: AS${state.asn}${org ? ` ${visibleString(org)}` : ""}`, { ...state, asn: null });
    }
    if (state.user) this.chip(`User name: ${shorten(visibleString(state.user))}`, { ...state, user: null });
  }

  private pickWindow(w: WindowName): void {
    if (!this.state) return;
    if (w === "custom") {
      // Start from the last 24 hours; the form then narrows it.
      const now = Date.now();
      this.onChange({
        ...this.state,
        window: "custom",
        since: this.state.since ?? new Date(now - 86_400_000).toISOString(),
        until: this.state.until,
      });
      return;
    }
    this.onChange({ ...this.state, window: w, since: null, until: null });
  }

  private chip(label: string, without: ViewState): void {
    const b = el("button", "chip", label, el("span", "x", "×"));
    b.type = "button";
    b.setAttribute("aria-label", `Remove the filter ${label}`);
    b.addEventListener("click", () => this.onChange(without));
    this.chips.append(el("li", null, b));
  }
}

/** Attacker-controlled text cut to fit a chip. */
function shorten(text: string, limit = 40): string {
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length} characters)` : text;
}

/** An ISO time as the value of a `datetime-local` input, in local time. */
function isoToLocal(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (local time) as an ISO time; null when empty or invalid. */
function localToIso(value: string): string | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
