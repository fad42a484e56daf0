// The map's largest request, started by boot.js before the map's script has even loaded and
// taken over by that script, so that the server prepares the answer while the browser sets
// the page up.

import { request } from "./api";

declare global {
  interface Window {
    knockmapEarly?: Map<string, Promise<Response>>;
  }
}

/** Starts GET `path` now, for [`takeEarly`] to pick up by `key` (a rolling window's bounds
 * move between the two scripts, so the path itself cannot be the key). */
export function startEarly(key: string, path: string): void {
  const response = request("GET", path);
  // A failure is reported to whoever takes the response over.
  response.catch(() => {});
  (window.knockmapEarly ??= new Map()).set(key, response);
}

/** The response to the request started early under `key`, once; undefined when there is
 * none. */
export function takeEarly(key: string): Promise<Response> | undefined {
  const early = window.knockmapEarly?.get(key);
  window.knockmapEarly?.delete(key);
  return early;
}
