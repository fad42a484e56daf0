// Loaded before the map's script (index.html): starts the request for the view's markers,
// the largest answer, at once. See early.ts.

import { markersPath } from "./api";
import { startEarly } from "./early";
import { fromUrl, query, recentCount, viewKey } from "./filters";

if (recentCount(location.pathname) === null) {
  const view = fromUrl(new URL(location.href));
  startEarly(viewKey(view), markersPath(query(view)));
}
