// The admin's list of registered sensors: a dialog opened from the top bar once signed in,
// with what each sensor last reported about itself (GET /api/v1/sensors).

import { api, type RegisteredSensor } from "./api";
import { el, formatCount, formatDateTime, visibleString } from "./dom";

/** A sensor silent for this long is shown as quiet: its host or its network may be down. */
const QUIET_MS = 15 * 60_000;

export class SensorList {
  private readonly dialog: HTMLDialogElement;
  private readonly body: HTMLElement;

  constructor() {
    this.body = el("div", "sensor-list-body");
    const close = el("button", null, "Close");
    close.type = "button";
    close.addEventListener("click", () => this.dialog.close());
    const title = el("h2", null, "Sensors");
    title.id = "sensor-list-title";
    this.dialog = el("dialog", "sensor-list", title, this.body, el("div", "buttons", close));
    this.dialog.setAttribute("aria-labelledby", title.id);
    document.body.append(this.dialog);
  }

  /** Opens the dialog and loads the list into it. */
  async open(): Promise<void> {
    this.body.replaceChildren(el("p", "muted", "Loading…"));
    this.dialog.showModal();
    try {
      const { sensors } = await api.registeredSensors();
      this.body.replaceChildren(sensors.length ? table(sensors, Date.now()) : el("p", "muted", none()));
    } catch (err) {
      this.body.replaceChildren(
        el("p", "form-error", `Could not load the sensors: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  }
}

function none(): string {
  return "No remote sensor is registered. `knockmap token create NAME` makes one.";
}

function table(sensors: RegisteredSensor[], now: number): HTMLElement {
  const head = el(
    "tr",
    null,
    ...["Sensor", "State", "Last seen", "Version", "Lines read", "Events", "Unmatched", "Spooled", "Dropped"].map((h) => {
      const th = el("th", null, h);
      th.scope = "col";
      return th;
    }),
  );
  const rows = sensors.map((s) => {
    const h = s.health;
    const name = el("th", null, visibleString(s.name));
    name.scope = "row";
    return el(
      "tr",
      null,
      name,
      el("td", null, state(s, now)),
      el("td", null, formatDateTime(s.last_seen, true)),
      el("td", null, h.version ? visibleString(h.version) : "—"),
      el("td", "n", formatCount(h.lines_read)),
      el("td", "n", formatCount(h.events)),
      el("td", "n", formatCount(h.unmatched)),
      el(
        "td",
        "n",
        h.spool_batches === undefined
          ? "—"
          : `${formatCount(h.spool_batches)} batches, ${formatCount(h.spool_bytes)} bytes`,
      ),
      el("td", "n", formatCount(h.dropped_events)),
    );
  });
  return el("table", "sensor-table", el("thead", null, head), el("tbody", null, ...rows));
}

/** Revoked, never seen, quiet or reporting: in words, not only in colour. */
function state(s: RegisteredSensor, now: number): string {
  if (s.revoked_at) return `revoked ${formatDateTime(s.revoked_at, true)}`;
  if (!s.last_seen) return "never reported";
  return now - Date.parse(s.last_seen) > QUIET_MS ? "quiet" : "reporting";
}
