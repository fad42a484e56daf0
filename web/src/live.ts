// The live websocket (/api/v1/live): hello, batched events, resync; reconnects with
// exponential backoff and jitter when the socket closes.

import type { KnockEvent, Meta } from "./api";

export type LiveState = "connecting" | "live" | "offline";

export interface LiveHandlers {
  /** `published`: the server's count of live batches so far (see `MarkersResponse`). */
  hello(meta: Meta, reconnected: boolean, published: number | null): void;
  events(events: KnockEvent[]): void;
  resync(): void;
  state(state: LiveState, retryInMs?: number): void;
}

const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

export class LiveConnection {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private everConnected = false;
  private timer = 0;

  constructor(private readonly handlers: LiveHandlers) {}

  start(): void {
    this.connect();
  }

  private url(): string {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/api/v1/live`;
  }

  private connect(): void {
    window.clearTimeout(this.timer);
    this.handlers.state("connecting");
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.retry();
      return;
    }
    this.socket = ws;
    ws.addEventListener("open", () => this.handlers.state("live"));
    ws.addEventListener("message", (ev) => this.onMessage(ev));
    ws.addEventListener("close", () => {
      if (this.socket !== ws) return;
      this.socket = null;
      this.retry();
    });
    ws.addEventListener("error", () => ws.close());
  }

  private onMessage(ev: MessageEvent): void {
    if (typeof ev.data !== "string") return;
    let msg: { type?: unknown; meta?: Meta; events?: KnockEvent[]; published?: unknown };
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    switch (msg.type) {
      case "hello": {
        const reconnected = this.everConnected;
        this.everConnected = true;
        this.attempt = 0;
        this.handlers.state("live");
        const published = typeof msg.published === "number" ? msg.published : null;
        if (msg.meta) this.handlers.hello(msg.meta, reconnected, published);
        break;
      }
      case "events":
        if (Array.isArray(msg.events)) this.handlers.events(msg.events);
        break;
      case "resync":
        this.handlers.resync();
        break;
      default:
        // Unknown frame types are ignored so the server can add new ones.
        break;
    }
  }

  private retry(): void {
    const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt++;
    this.handlers.state("offline", delay);
    this.timer = window.setTimeout(() => this.connect(), delay);
  }
}
