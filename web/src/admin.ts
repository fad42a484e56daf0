// Signing in as admin: a button in the top bar that opens a password form, and the session
// state the rest of the page listens to (star and note controls appear for an admin). A
// signed-in admin also gets the list of sensors.

import { api, ApiError, type Session } from "./api";
import { el } from "./dom";
import { SensorList } from "./sensors";

type Listener = (admin: boolean) => void;

export class AdminSession {
  private session: Session = { admin: false, sign_in: false, csrf: null };
  private readonly listeners: Listener[] = [];
  private readonly root: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly password: HTMLInputElement;
  private readonly error: HTMLElement;
  private sensors: SensorList | null = null;

  /** Draws the control into `parent` and asks the server whether this browser is signed in. */
  constructor(parent: HTMLElement) {
    this.root = el("div", "admin-control");
    this.password = el("input", null);
    this.password.type = "password";
    this.password.id = "admin-password";
    this.password.autocomplete = "current-password";
    this.password.required = true;
    const label = el("label", null, "Admin password");
    label.htmlFor = this.password.id;
    const submit = el("button", "primary", "Sign in");
    submit.type = "submit";
    const cancel = el("button", null, "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", () => this.closeForm());
    this.error = el("p", "form-error");
    this.error.setAttribute("role", "alert");
    this.form = el("form", "sign-in-form", label, this.password, el("div", "buttons", submit, cancel), this.error);
    this.form.hidden = true;
    this.form.setAttribute("aria-label", "Sign in as admin");
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.signIn();
    });
    this.form.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.closeForm();
    });
    parent.append(this.root, this.form);
    this.render();
    void this.refresh();
  }

  get isAdmin(): boolean {
    return this.session.admin;
  }

  /** Calls `listener` now and whenever the signed-in state changes. */
  onChange(listener: Listener): void {
    this.listeners.push(listener);
    listener(this.session.admin);
  }

  async refresh(): Promise<void> {
    try {
      this.update(await api.session());
    } catch {
      // The server is unreachable: stay signed out; the page shows its own error.
    }
  }

  private update(session: Session): void {
    const changed = session.admin !== this.session.admin;
    this.session = session;
    this.render();
    if (changed) for (const l of this.listeners) l(session.admin);
  }

  private render(): void {
    this.root.replaceChildren();
    if (this.session.admin) {
      const out = el("button", "link-button", "Sign out");
      out.type = "button";
      out.id = "sign-out";
      out.addEventListener("click", () => void this.signOut());
      const sensors = el("button", "link-button", "Sensors");
      sensors.type = "button";
      sensors.id = "show-sensors";
      sensors.setAttribute("aria-haspopup", "dialog");
      sensors.addEventListener("click", () => void (this.sensors ??= new SensorList()).open());
      this.root.append(el("span", "admin-badge", "Admin"), sensors, out);
    } else if (this.session.sign_in) {
      const open = el("button", "link-button", "Sign in");
      open.type = "button";
      open.id = "sign-in";
      open.setAttribute("aria-expanded", String(!this.form.hidden));
      open.addEventListener("click", () => this.openForm());
      this.root.append(open);
    }
  }

  private openForm(): void {
    this.form.hidden = false;
    this.error.textContent = "";
    this.render();
    this.password.focus();
  }

  private closeForm(): void {
    this.form.hidden = true;
    this.password.value = "";
    this.render();
  }

  private async signIn(): Promise<void> {
    this.error.textContent = "";
    try {
      const session = await api.signIn(this.password.value);
      this.form.hidden = true;
      this.password.value = "";
      this.update(session);
    } catch (err) {
      this.error.textContent =
        err instanceof ApiError && err.status === 401
          ? "Wrong password."
          : `Could not sign in: ${err instanceof Error ? err.message : String(err)}`;
      this.password.select();
    }
  }

  private async signOut(): Promise<void> {
    try {
      this.update(await api.signOut());
    } catch {
      await this.refresh();
    }
  }
}
