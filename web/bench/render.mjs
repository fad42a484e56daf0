// Rendering benchmark: the map page in headless Chromium against a real `knockmap serve` on
// a database of generated events (about 100,000 distinct addresses).
//
// Measures, over several fresh page loads:
// - first paint: from navigation start to the first drawing of all markers on screen (the
//   page's `knockmap:first-markers-painted` mark, set by a task queued in the frame that drew
//   them, which runs once that frame is painted); also the older measure, the page's
//   `knockmap:first-markers` mark as polled from here plus one more animation frame, which
//   adds the polling delay and any work the page does right after (filling its side panel);
// - pan: frame times (requestAnimationFrame deltas) while the mouse drags the map, p50/p95,
//   the frames that took longer than 25 ms (at 60 Hz, a dropped frame), and the main
//   thread's busy time per frame (Chrome's TaskDuration over the drag / frames);
// - zoom: the same while the wheel zooms in and out;
// - JS heap after load (Chrome's Performance.getMetrics JSHeapUsedSize).
//
// Usage (from the repository root, after `cargo build --release --bin knockmap`):
//   node web/bench/render.mjs --db sqlite:///path/to/store.sqlite [--runs 5]
//        [--bin target/release/knockmap] [--chromium /usr/bin/chromium]
// Prints one JSON object; bench/render.py builds the database and formats the table.

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const db = args.db;
if (!db) {
  console.error("usage: node web/bench/render.mjs --db sqlite:///path/to/store.sqlite [--runs 5]");
  process.exit(2);
}
const runs = Number(args.runs ?? 5);
const bin = args.bin ?? "target/release/knockmap";
const chromiumPath = args.chromium ?? "/usr/bin/chromium";

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const median = (v) => percentile(v, 50);

async function startServer(dataDir) {
  const child = spawn(
    bin,
    ["serve", "--listen", "127.0.0.1:0", "--db", db, "--no-geoip-download", "--data-dir", dataDir, "--home", "50.1,8.7"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KNOCKMAP_LOG: "info" } },
  );
  let output = "";
  const ready = new Promise((resolve, reject) => {
    let url = null;
    const timer = setTimeout(() => reject(new Error(`server not ready in 300 s:\n${output}`)), 300_000);
    const onData = (chunk) => {
      output += chunk.toString();
      url ??= output.match(/listening on (http:\/\/\S+)\r?\n/)?.[1]?.replace(/\/$/, "") ?? null;
      // Measure what a running server serves: with the statistics summary in memory.
      if (url && /statistics summary loaded/.test(output)) {
        clearTimeout(timer);
        resolve(url);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited (${code}):\n${output}`)));
  });
  return { child, ready };
}

/** Frame times while `action` runs: deltas between animation frames, in ms, and the main
 * thread's busy time in ms over the same span. */
async function frameTimes(page, cdp, action) {
  const busy = async () =>
    ((await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration")?.value ?? NaN) * 1000;
  const busyBefore = await busy();
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (window.__framesOn) requestAnimationFrame(tick);
    };
    window.__framesOn = true;
    requestAnimationFrame((t) => {
      last = t;
      requestAnimationFrame(tick);
    });
  });
  await action();
  const frames = await page.evaluate(() => {
    window.__framesOn = false;
    return window.__frames;
  });
  return { frames, busy: (await busy()) - busyBefore };
}

const dataDir = await mkdtemp(join(tmpdir(), "knockmap-render-"));
const server = await startServer(dataDir);
const result = {
  runs,
  first_paint_ms: [],
  first_paint_polled_ms: [],
  pan_frame_ms: [],
  zoom_frame_ms: [],
  pan_busy_ms: 0,
  zoom_busy_ms: 0,
  heap_mb: [],
  markers: null,
};
let browser;
try {
  const base = await server.ready;
  // Without the frame-rate limit a frame takes what its work takes, so frame times measure
  // the page, not the display's refresh rate.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-frame-rate-limit", "--disable-gpu-vsync"],
  });
  for (let run = 0; run < runs; run++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 820 } });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    const mark = await page.waitForFunction(
      () => {
        const m = performance.getEntriesByName("knockmap:first-markers")[0];
        return m ? { at: m.startTime, markers: m.detail?.markers ?? null } : null;
      },
      null,
      { timeout: 120_000, polling: 50 },
    );
    const { at, markers } = await mark.jsonValue();
    // The older measure: one more frame after noticing the mark.
    const polled = await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(performance.now()))));
    result.first_paint_polled_ms.push(Math.max(at, polled));
    const painted = await page.waitForFunction(
      () => performance.getEntriesByName("knockmap:first-markers-painted")[0]?.startTime ?? null,
      null,
      { timeout: 10_000 },
    );
    result.first_paint_ms.push(await painted.jsonValue());
    result.markers = markers;
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const heap = metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? NaN;
    result.heap_mb.push(heap / 1024 / 1024);

    const box = await page.locator("#map").boundingBox();
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    // Zoom in a little first so that there is room to pan.
    await page.mouse.move(cx, cy);
    const zoom = await frameTimes(page, cdp, async () => {
      for (let i = 0; i < 10; i++) {
        await page.mouse.wheel(0, -120);
        await page.waitForTimeout(30);
      }
      for (let i = 0; i < 5; i++) {
        await page.mouse.wheel(0, 120);
        await page.waitForTimeout(30);
      }
    });
    result.zoom_frame_ms.push(...zoom.frames);
    result.zoom_busy_ms += zoom.busy;
    await page.waitForTimeout(500);
    const pan = await frameTimes(page, cdp, async () => {
      await page.mouse.move(cx, cy);
      await page.mouse.down();
      for (let i = 1; i <= 60; i++) {
        await page.mouse.move(cx + 5 * i, cy + 2 * i);
        await page.waitForTimeout(16);
      }
      await page.mouse.up();
    });
    result.pan_frame_ms.push(...pan.frames);
    result.pan_busy_ms += pan.busy;
    await context.close();
  }
} finally {
  await browser?.close().catch(() => {});
  server.child.kill("SIGTERM");
  await rm(dataDir, { recursive: true, force: true });
}

const frameSummary = (frames, busy) => ({
  p50: median(frames),
  p95: percentile(frames, 95),
  p99: percentile(frames, 99),
  frames: frames.length,
  over_25ms: frames.filter((f) => f > 25).length,
  busy_per_frame_ms: busy / Math.max(1, frames.length),
});
const summary = {
  markers: result.markers,
  runs,
  first_paint_ms: { median: median(result.first_paint_ms), all: result.first_paint_ms.map(Math.round) },
  first_paint_polled_ms: {
    median: median(result.first_paint_polled_ms),
    all: result.first_paint_polled_ms.map(Math.round),
  },
  pan_frame_ms: frameSummary(result.pan_frame_ms, result.pan_busy_ms),
  zoom_frame_ms: frameSummary(result.zoom_frame_ms, result.zoom_busy_ms),
  heap_mb: { median: median(result.heap_mb) },
};
console.log(JSON.stringify(summary, null, 2));
