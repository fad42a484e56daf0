// End-to-end browser test: starts the real `knockmap serve` on a temporary SQLite database
// and auth.log, opens the page in headless Chromium, appends an attack line to the log and
// checks that the counters, the map and the popup follow, with the attacker-controlled user
// name rendered as text.
//
// Env: KNOCKMAP_BIN (default ../target/debug/knockmap), KNOCKMAP_ARTIFACTS (default
// <repo>/artifacts), CHROMIUM (default /usr/bin/chromium), KNOCKMAP_REQUIRE_ALL=1 turns
// a missing Chromium from a skip into a failure.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { createServer } from "node:http";
import { existsSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { accessibilityProblems } from "./accessibility.mjs";

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(webDir, "..");
const bin = resolve(webDir, process.env.KNOCKMAP_BIN || "../target/debug/knockmap");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = resolve(process.env.KNOCKMAP_ARTIFACTS || join(repo, "artifacts"));
const geoip = join(repo, "crates/knockmap-geo/tests/fixtures/GeoLite2-City-Test.mmdb");
const geoipAsn = join(repo, "crates/knockmap-geo/tests/fixtures/GeoLite2-ASN-Test.mmdb");

const ATTACKER = "81.2.69.142"; // London in the MaxMind test database, no network
const EVIL_USER = "<img src=x onerror=alert(1)>";

/** Current local time as a BSD syslog timestamp, e.g. "Nov  1 19:16:01". */
function syslogNow() {
  const d = new Date();
  const mon = d.toLocaleString("en-US", { month: "short" });
  const day = String(d.getDate()).padStart(2, " ");
  const hms = [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
  return `${mon} ${day} ${hms}`;
}

/** Start `knockmap serve` and resolve with its base URL once it prints its address. */
function startServer(dir, extra = []) {
  const args = [
    "serve",
    "--listen", "127.0.0.1:0",
    "--db", `sqlite://${join(dir, "k.sqlite")}`,
    "--no-geoip-download",
    "--geoip", geoip,
    "--geoip", geoipAsn,
    "--source", join(dir, "auth.log"),
    "--home", "50.1,8.7",
    ...extra,
  ];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const url = new Promise((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`knockmap serve printed no "listening on" line within 30 s:\n${output}`)),
      30_000,
    );
    const onData = (chunk) => {
      output += chunk.toString();
      // Only a whole line: a chunk may end inside the address ("http://127" would be read
      // by the browser as the host 0.0.0.127).
      const m = output.match(/listening on (http:\/\/\S+)\r?\n/);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1].replace(/\/$/, ""));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`knockmap serve exited early (code ${code}, signal ${signal}):\n${output}`));
    });
  });
  return { child, url, log: () => output };
}

/** A stand-in for Shodan's API on loopback: `hosts` maps an address to its answer (an
 * object), or to "hang" (never answers). Counts the requests per address. */
async function fakeShodan(key, hosts) {
  const requests = {};
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const ip = decodeURIComponent(url.pathname.replace(/^\/shodan\/host\//, ""));
    requests[ip] = (requests[ip] ?? 0) + 1;
    if (url.searchParams.get("key") !== key) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "Invalid API key" }));
      return;
    }
    const answer = hosts[ip];
    if (answer === "hang") return;
    if (!answer) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "No information available for that IP." }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(answer));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.closeAllConnections() || server.close() };
}

/** Stop a server started by `startServer`: SIGTERM, then SIGKILL after 5 s. */
async function stopServer(server) {
  server.child.kill("SIGTERM");
  await new Promise((r) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return r();
    const t = setTimeout(() => {
      server.child.kill("SIGKILL");
      r();
    }, 5_000);
    server.child.once("exit", () => {
      clearTimeout(t);
      r();
    });
  });
  server.url.catch(() => {});
}

/** Records what a page must never do: open dialogs, throw, break the CSP, fail requests. */
function watch(page) {
  const seen = { dialogs: [], pageErrors: [], consoleErrors: [] };
  page.on("dialog", (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => seen.pageErrors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") seen.consoleErrors.push(m.text());
  });
  return seen;
}

/** Clicks the dot of `key` (an address, or a network in public mode) until its popup opens:
 * the page may still be laying itself out (and the dot moving) when the dot first exists. */
async function openPopup(page, key) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const pos = await page.evaluate((k) => window.knockmapTest?.markerScreenPosition(k) ?? null, key);
    if (pos) {
      await page.mouse.click(pos.x, pos.y);
      try {
        await page.waitForFunction(
          (k) => {
            const p = document.querySelector(".popup");
            return !!p && !p.hidden && (p.textContent ?? "").includes(k);
          },
          key,
          { timeout: 3_000 },
        );
        return;
      } catch {
        // not opened: look for the dot again
      }
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`the popup of ${key} did not open`);
}

/** A fresh `knockmap serve` (with `args`) on a temporary log and database, and Chromium.
 * Runs `body({ base, appendLog, newPage })`; when it fails, prints the server's output and
 * what the page reported; stops everything after. */
async function withServer(args, body) {
  assert.ok(!chromiumMissing, `Chromium not found at ${chromiumPath} (apt-get install -y chromium)`);
  assert.ok(existsSync(bin), `knockmap binary not found at ${bin}`);
  const dir = await mkdtemp(join(tmpdir(), "knockmap-web-"));
  await writeFile(join(dir, "auth.log"), "");
  const server = startServer(dir, args);
  let browser;
  let seen = { dialogs: [], pageErrors: [], consoleErrors: [] };
  try {
    await body({
      base: await server.url,
      appendLog: (text) => appendFile(join(dir, "auth.log"), text),
      /** Runs another knockmap command on the server's database. */
      knockmap: (...args) => promisify(execFile)(bin, [...args, "--db", `sqlite://${join(dir, "k.sqlite")}`]),
      newPage: async (viewport) => {
        browser ??= await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
        const page = await browser.newPage({ viewport });
        seen = watch(page);
        return { page, seen };
      },
    });
  } catch (err) {
    const log = server.log();
    if (log) console.error(`--- knockmap serve output ---\n${log}`);
    console.error(`--- page errors ---\n${seen.pageErrors.join("\n")}\n--- console errors ---\n${seen.consoleErrors.join("\n")}`);
    throw err;
  } finally {
    await browser?.close().catch(() => {});
    await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls `url` until its JSON answer satisfies `ready` (20 s at most). */
async function untilStored(url, ready) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(url);
    if (res.ok && ready(await res.json())) return;
    assert.ok(Date.now() < deadline, `${url} did not show the appended lines`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Asserts that the page as it is now has no accessibility problem (WCAG 2.1 AA rules and
 * text contrast), in both themes. */
async function assertAccessible(page, what) {
  for (const colorScheme of ["dark", "light"]) {
    await page.emulateMedia({ colorScheme });
    const { checked, problems } = await accessibilityProblems(page);
    assert.ok(checked >= 20, `${what} (${colorScheme}): only ${checked} texts checked`);
    assert.deepEqual(problems, [], `${what} (${colorScheme})`);
  }
  await page.emulateMedia({ colorScheme: "dark" });
}

/** The colour of the marker layer at a client point. */
function markerPixel(page, { x, y }) {
  return page.evaluate(({ x, y }) => {
    const canvas = document.querySelector("canvas.layer-markers");
    const r = canvas.getBoundingClientRect();
    const dpr = canvas.width / r.width;
    const ctx = canvas.getContext("2d");
    const [red, green, blue, alpha] = ctx.getImageData(Math.round((x - r.left) * dpr), Math.round((y - r.top) * dpr), 1, 1).data;
    return { red, green, blue, alpha };
  }, { x, y });
}

async function readCount(page, selector) {
  const text = (await page.textContent(selector)) ?? "";
  const digits = text.replace(/\D/g, "");
  return digits ? Number(digits) : NaN;
}

const chromiumMissing = !existsSync(chromiumPath);
const skip =
  chromiumMissing && process.env.KNOCKMAP_REQUIRE_ALL !== "1"
    ? `Chromium not found at ${chromiumPath} (apt-get install -y chromium)`
    : false;

test("live map: a new attack shows up, opens a popup, and renders the user name as text", { skip, timeout: 120_000 }, async () => {
  assert.ok(!chromiumMissing, `Chromium not found at ${chromiumPath} (apt-get install -y chromium)`);
  assert.ok(
    existsSync(bin),
    `knockmap binary not found at ${bin}: build it with \`cargo build -p knockmap\` or set KNOCKMAP_BIN`,
  );
  assert.ok(existsSync(geoip), `MaxMind test database not found at ${geoip}`);

  const dir = await mkdtemp(join(tmpdir(), "knockmap-web-"));
  await writeFile(join(dir, "auth.log"), "");
  const server = startServer(dir);
  let browser;
  const dialogs = [];
  const pageErrors = [];
  const consoleErrors = [];
  try {
    const base = await server.url;
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
    // With a touch screen, to pinch.
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 }, hasTouch: true });

    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("response", (r) => {
      if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    page.on("requestfailed", (r) => consoleErrors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));

    // The map is drawn. Rarely, on a loaded machine, the first navigation of a fresh browser
    // never gets its assets (seen as HTTP 403 answers that no part of knockmap sends); the
    // page is then loaded once more, and what went wrong is printed either way.
    const mapDrawn = () => document.querySelectorAll("svg.basemap path.country").length > 100;
    await page.goto(`${base}/`);
    try {
      await page.waitForFunction(mapDrawn, null, { timeout: 30_000 });
    } catch {
      console.log(`first load did not draw the map; retrying. Seen so far:\n${consoleErrors.join("\n")}`);
      consoleErrors.length = 0;
      await page.goto(`${base}/`);
      await page.waitForFunction(mapDrawn, null, { timeout: 60_000 });
    }
    await page.waitForFunction(() => /\d/.test(document.getElementById("stat-attempts")?.textContent ?? ""), null, {
      timeout: 30_000,
    });
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 15_000 });
    const before = await readCount(page, "#stat-attempts");
    assert.ok(Number.isFinite(before), "attempts counter shows a number");

    // An attack arrives in the log.
    const line = `${syslogNow()} web-01 sshd[1234]: Failed password for invalid user ${EVIL_USER} from ${ATTACKER} port 51122 ssh2\n`;
    await appendFile(join(dir, "auth.log"), line);

    await page.waitForFunction(
      (n) => Number((document.getElementById("stat-attempts")?.textContent ?? "").replace(/\D/g, "")) > n,
      before,
      { timeout: 15_000 },
    );
    const handle = await page.waitForFunction(
      (ip) => window.knockmapTest?.markerScreenPosition(ip) ?? null,
      ATTACKER,
      { timeout: 15_000 },
    );
    const pos = await handle.jsonValue();
    assert.ok(pos && Number.isFinite(pos.x) && Number.isFinite(pos.y), "marker has a screen position");
    // The dot pulses for a minute: after the arc and its ripple (2.1 s), a ring is still
    // drawn around it on the animation layer.
    assert.deepEqual(await page.evaluate(() => window.knockmapTest.pulsing()), [ATTACKER]);
    await page.waitForTimeout(2500);
    const ringPixels = await page.evaluate(({ x, y }) => {
      const canvas = document.querySelector("canvas.layer-arcs");
      const r = canvas.getBoundingClientRect();
      const dpr = canvas.width / r.width;
      const size = Math.round(30 * dpr);
      const data = canvas.getContext("2d").getImageData(Math.round((x - r.left - 15) * dpr), Math.round((y - r.top - 15) * dpr), size, size).data;
      let drawn = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
      return drawn;
    }, pos);
    assert.ok(ringPixels > 0, "a pulse around the dot");

    // A real click on the dot opens the popup.
    await openPopup(page, ATTACKER);
    const popup = page.locator(".popup");
    await popup.waitFor({ state: "visible", timeout: 5_000 });
    await page.waitForFunction(() => /London/.test(document.querySelector(".popup")?.textContent ?? ""), null, {
      timeout: 10_000,
    });
    const popupText = (await popup.textContent()) ?? "";
    assert.match(popupText, new RegExp(ATTACKER.replace(/\./g, "\\.")));
    assert.match(popupText, /London/);

    const users = await page.$$eval(".popup .user", (els) => els.map((e) => e.textContent));
    assert.ok(users.includes(EVIL_USER), `popup lists the user name literally, got ${JSON.stringify(users)}`);
    const feedText = (await page.textContent("#feed-list")) ?? "";
    assert.ok(feedText.includes(EVIL_USER), "feed shows the user name literally");
    const linkTargets = await page.$$eval(".popup-links a", (els) =>
      els.map((a) => ({ target: a.getAttribute("target"), rel: a.getAttribute("rel") })),
    );
    for (const l of linkTargets) {
      assert.equal(l.target, "_blank");
      assert.equal(l.rel, "noopener noreferrer");
    }

    // Nothing attacker-controlled became markup or ran.
    await page.waitForTimeout(300);
    assert.equal(await page.locator('img[src="x"]').count(), 0, "no <img src=x> element exists");
    assert.equal(await page.locator("img").count(), 0, "the page has no <img> at all");
    assert.deepEqual(dialogs, [], "no dialog was opened");
    assert.deepEqual(pageErrors, [], "no uncaught page errors");
    const cspErrors = consoleErrors.filter((t) => /Content Security Policy/i.test(t));
    assert.deepEqual(cspErrors, [], "no Content Security Policy violations");

    await mkdir(artifacts, { recursive: true });
    const shot = join(artifacts, "web-live-popup.png");
    await page.screenshot({ path: shot });
    console.log(`screenshot: ${shot}`);

    // Zoom: the buttons, the keyboard and a drag move the dot with the map; reset brings
    // it back.
    await page.click(".popup-close");
    const at = async () =>
      (await page.evaluate((ip) => window.knockmapTest?.markerScreenPosition(ip) ?? null, ATTACKER));
    const mapBox = await page.locator("#map").boundingBox();
    const centre = { x: mapBox.x + mapBox.width / 2, y: mapBox.y + mapBox.height / 2 };
    const start = await at();
    const offset = (p) => Math.hypot(p.x - centre.x, p.y - centre.y);
    await page.click("#zoom-in");
    await page.waitForFunction(
      ([ip, before]) => {
        const p = window.knockmapTest?.markerScreenPosition(ip);
        return p && Math.hypot(p.x - before.x, p.y - before.y) > 5;
      },
      [ATTACKER, start],
    );
    const zoomed = await at();
    assert.ok(
      Math.abs(offset(zoomed) / offset(start) - 2) < 0.05,
      `zooming in twice as far doubles the dot's distance from the centre: ${offset(start)} → ${offset(zoomed)}`,
    );
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.down();
    await page.mouse.move(centre.x + 60, centre.y + 40, { steps: 5 });
    await page.mouse.up();
    const dragged = await at();
    assert.ok(Math.abs(dragged.x - zoomed.x - 60) < 2 && Math.abs(dragged.y - zoomed.y - 40) < 2, "a drag pans the map");
    await page.focus("#map");
    await page.keyboard.press("0");
    const reset = await at();
    assert.ok(Math.abs(reset.x - start.x) < 1 && Math.abs(reset.y - start.y) < 1, "0 resets the view");
    await page.keyboard.press("+");
    assert.ok(Math.abs(offset(await at()) / offset(start) - 2) < 0.05, "+ zooms in");
    await page.click("#zoom-out");
    assert.ok(Math.abs(offset(await at()) - offset(start)) < 1, "− zooms out");
    // Two fingers spreading apart around the centre, from 60 to 180 px: three times closer.
    const touch = await page.context().newCDPSession(page);
    const fingers = (spread) => [
      { x: centre.x - spread, y: centre.y, id: 1 },
      { x: centre.x + spread, y: centre.y, id: 2 },
    ];
    await touch.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: fingers(30) });
    for (let spread = 40; spread <= 90; spread += 10) {
      await touch.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: fingers(spread) });
    }
    await touch.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    const pinched = await at();
    assert.ok(Math.abs(offset(pinched) / offset(start) - 3) < 0.15, `a pinch zooms in: ${offset(start)} → ${offset(pinched)}`);
    await page.focus("#map");
    await page.keyboard.press("0");

    // The heatmap view: heat under the attacker, the choice kept in the URL.
    await page.click("#view-toggle");
    assert.equal(await page.getAttribute("#view-toggle", "aria-pressed"), "true");
    assert.match(page.url(), /view=heat/);
    await page.waitForTimeout(200);
    const heatAt = await markerPixel(page, start);
    assert.ok(heatAt.alpha > 0, `heat is drawn at the attacker: ${JSON.stringify(heatAt)}`);
    await page.screenshot({ path: join(artifacts, "web-heatmap.png") });
    await page.click("#view-toggle");
    assert.equal(await page.getAttribute("#view-toggle", "aria-pressed"), "false");

    // A reload shows what is stored, not only what was seen live.
    await page.reload();
    await page.waitForFunction(
      (ip) => window.knockmapTest?.markerScreenPosition(ip) ?? null,
      ATTACKER,
      { timeout: 15_000 },
    );
    assert.ok((await readCount(page, "#stat-attempts")) > before, "attempts survive a reload");
    // The full drawing puts the dot's core, in the failure colour (#ff3b5c), on its centre.
    await page.waitForFunction(() => performance.getEntriesByName("knockmap:first-markers").length > 0);
    const core = await markerPixel(page, await page.evaluate((ip) => window.knockmapTest.markerScreenPosition(ip), ATTACKER));
    assert.ok(core.red > 200 && core.green < 120 && core.blue < 150 && core.alpha > 200, `a red dot at the attacker: ${JSON.stringify(core)}`);

    // An address without a location is counted and listed, not dropped.
    const privateIp = "10.20.30.40";
    await appendFile(
      join(dir, "auth.log"),
      `${syslogNow()} web-01 sshd[1240]: Invalid user oracle from ${privateIp} port 4444\n`,
    );
    await page.waitForFunction(() => (document.getElementById("stat-unlocated")?.textContent ?? "").trim() === "1", null, {
      timeout: 15_000,
    });
    await page.click("#stat-unlocated");
    await page.waitForFunction(
      (ip) => (document.getElementById("unlocated-list")?.textContent ?? "").includes(ip),
      privateIp,
      { timeout: 10_000 },
    );
    await page.click("#unlocated-list li");
    await page.waitForFunction(
      (ip) => (document.querySelector(".popup")?.textContent ?? "").includes("oracle") &&
        (document.querySelector(".popup")?.textContent ?? "").includes(ip),
      privateIp,
      { timeout: 10_000 },
    );
  } catch (err) {
    const log = server.log();
    if (log) console.error(`--- knockmap serve output ---\n${log}`);
    console.error(`--- page errors ---\n${pageErrors.join("\n")}\n--- console errors ---\n${consoleErrors.join("\n")}`);
    throw err;
  } finally {
    await browser?.close().catch(() => {});
    await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  }
});

test("attacker page: details, links, hostile names as text, sign in, star and note", { skip, timeout: 120_000 }, async () => {
  const password = "hunter2 for the browser test";
  const SLOW = "81.2.69.160";
  const shodan = await fakeShodan("test-key", {
    [ATTACKER]: {
      ip_str: ATTACKER,
      org: "Hostile <img src=x onerror=alert('org')> Org",
      os: "Linux 5.x",
      hostnames: ["scanner.example"],
      ports: [22, 80],
      data: [
        { port: 22, transport: "tcp", product: "OpenSSH", version: "9.2", data: "SSH-2.0-OpenSSH_9.2\r\n<script>alert('banner')</script>" },
        { port: 80, transport: "tcp", data: "HTTP/1.1 200 OK\r\nServer: \u202Eevil\r\n" + "y".repeat(10_000) },
      ],
    },
    [SLOW]: "hang",
  });
  const RTL_USER = "admin\u202Egnp.exe";
  const LONG_USER = "x".repeat(10_000);
  try {
    await withServer(
      [
        "--admin-password", password,
        "--shodan-key", "test-key", "--shodan-url", shodan.url, "--shodan-timeout", "1",
      ],
      async ({ base, appendLog, newPage, knockmap }) => {
        const lines = [EVIL_USER, RTL_USER, LONG_USER, "root"].map(
          (user, i) =>
            `${syslogNow()} web-01 sshd[${2000 + i}]: Failed password for invalid user ${user} from ${ATTACKER} port ${40000 + i} ssh2\n`,
        );
        lines.push(`${syslogNow()} web-01 sshd[2999]: Failed password for root from ${SLOW} port 40999 ssh2\n`);
        await appendLog(lines.join(""));
        await untilStored(`${base}/api/v1/ips/${ATTACKER}`, (ip) => ip.events >= 4);

        const { page, seen } = await newPage({ width: 1300, height: 900 });
        await page.goto(`${base}/ip/${ATTACKER}`);
        await page.waitForSelector(".facts", { timeout: 15_000 });
        assert.equal((await page.textContent(".ip-title"))?.trim(), ATTACKER);
        assert.match(await page.title(), new RegExp(ATTACKER.replace(/\./g, "\\.")));
        const facts = (await page.textContent(".facts")) ?? "";
        assert.match(facts, /London/);
        assert.match(facts, /United Kingdom/);
        assert.match(facts, /web-01/, "the host that logged it");

        // Every user name exactly as tried, as text.
        const users = await page.$$eval(".users code.user", (els) => els.map((e) => e.textContent));
        // The direction override is shown as a mark, not obeyed ("adminexe.png" would lie).
        for (const u of [EVIL_USER, "admin‹U+202E›gnp.exe", LONG_USER, "root"]) {
          assert.ok(users.includes(u), `user ${JSON.stringify(u.slice(0, 40))} listed literally in ${JSON.stringify(users.map((x) => x.slice(0, 40)))}`);
        }
        // A 10 KB name is folded behind its start and its length, and opens on demand.
        const folded = page.locator(".users details.long-text").first();
        assert.match((await folded.locator("summary").textContent()) ?? "", /10,000 characters/);
        assert.equal(await folded.locator("code.user").isVisible(), false);
        await folded.locator("summary").click();
        assert.equal(await folded.locator("code.user").isVisible(), true);
        const eventRows = await page.locator("table.events tbody tr").count();
        assert.equal(eventRows, 4, "the four events are listed");
        assert.equal(await page.locator("img").count(), 0, "no <img> element was made from a name");

        // Outside lookups open in a new tab without leaking the page.
        const links = await page.$$eval(".lookups a", (els) =>
          els.map((a) => ({ text: a.textContent, href: a.href, target: a.target, rel: a.rel })),
        );
        const names = links.map((l) => l.text);
        for (const name of ["Shodan", "Censys", "Talos", "AbuseIPDB", "GreyNoise", "Whois (RDAP)"]) {
          assert.ok(names.includes(name), `${name} link in ${JSON.stringify(names)}`);
        }
        for (const l of links) {
          assert.ok(l.href.includes(ATTACKER), l.href);
          assert.equal(l.target, "_blank");
          assert.equal(l.rel, "noopener noreferrer");
        }

        // Shodan: fetched once, shown as text, cached.
        await page.waitForSelector(".shodan .services", { timeout: 15_000 });
        const shodanText = (await page.textContent(".shodan")) ?? "";
        assert.match(shodanText, /OpenSSH 9\.2/);
        assert.match(shodanText, /22, 80/);
        assert.match(shodanText, /scanner\.example/);
        assert.ok(shodanText.includes("<script>alert('banner')</script>"), "the banner is shown as text");
        assert.ok(shodanText.includes("Hostile <img src=x onerror=alert('org')> Org"), "the organisation as text");
        assert.ok(shodanText.includes("‹U+202E›evil"), "a direction override in a banner is shown as a mark");
        assert.equal(await page.locator(".shodan img, .shodan script").count(), 0);
        assert.equal(await page.locator("#shodan-refresh").count(), 0, "only an admin can ask again");
        assert.equal(shodan.requests[ATTACKER], 1);
        await page.reload();
        await page.waitForSelector(".shodan .services", { timeout: 15_000 });
        assert.equal(shodan.requests[ATTACKER], 1, "the answer is cached");

        // Signed out: no admin controls.
        assert.equal(await page.locator("#star-toggle").count(), 0);
        assert.equal(await page.locator("#note-text").count(), 0);

        // A wrong password is refused, the right one signs in.
        await page.click("#sign-in");
        await page.fill("#admin-password", "wrong");
        await page.press("#admin-password", "Enter");
        await page.waitForFunction(() => /Wrong password/.test(document.querySelector(".form-error")?.textContent ?? ""));
        await page.fill("#admin-password", password);
        await page.press("#admin-password", "Enter");
        await page.waitForSelector("#sign-out", { timeout: 10_000 });

        // The admin's list of sensors, from the top bar: one registered, not reporting yet.
        await knockmap("token", "create", "edge-1", "--location", "35.68,139.69");
        await page.click("#show-sensors");
        await page.waitForSelector("dialog.sensor-list[open] .sensor-table", { timeout: 10_000 });
        assert.match((await page.textContent("dialog.sensor-list tbody tr")) ?? "", /^edge-1\s*never reported/);
        await page.keyboard.press("Escape");
        await page.waitForSelector("dialog.sensor-list", { state: "hidden" });
        const cookies = await page.context().cookies();
        const session = cookies.find((c) => c.name === "knockmap_session");
        assert.ok(session, "a session cookie was set");
        assert.equal(session.httpOnly, true);
        assert.equal(session.sameSite, "Strict");
        assert.equal(
          await page.evaluate(() => document.cookie.includes("knockmap_session")),
          false,
          "scripts cannot read the session cookie",
        );

        // An admin can ask Shodan again.
        await page.waitForSelector("#shodan-refresh", { timeout: 10_000 });
        await page.click("#shodan-refresh");
        await page.waitForSelector(".shodan .services", { timeout: 15_000 });
        assert.equal(shodan.requests[ATTACKER], 2, "asked again");

        // Star, then a hostile note.
        await page.click("#star-toggle");
        await page.waitForSelector(".star-badge", { timeout: 10_000 });
        const NOTE = "<script>alert('note')</script> \u202Eevil & <b>bold</b>";
        await page.fill("#note-text", NOTE);
        await page.click(".note-form button[type=submit]");
        await page.waitForFunction(() => document.querySelector(".form-status")?.textContent === "Saved.");

        // Stored: a reload shows them (still signed in), and signed out the note is shown as text.
        await page.reload();
        await page.waitForSelector(".star-badge", { timeout: 15_000 });
        await page.waitForSelector("#note-text", { timeout: 10_000 });
        assert.equal(await page.inputValue("#note-text"), NOTE);
        await mkdir(artifacts, { recursive: true });
        await page.screenshot({ path: join(artifacts, "web-ip-page-admin.png") });
        await assertAccessible(page, "attacker page, signed in");
        await page.click("#sign-out");
        await page.waitForSelector("#sign-in", { timeout: 10_000 });
        await page.waitForSelector(".note-text", { timeout: 10_000 });
        assert.equal(await page.textContent(".note-text"), NOTE.replace("\u202E", "‹U+202E›"));
        assert.equal(await page.locator("#star-toggle").count(), 0);
        assert.equal(await page.locator("script:not([src])").count(), 0, "no inline script exists");
        await page.screenshot({ path: join(artifacts, "web-ip-page.png"), fullPage: true });

        // The map shows the starred attacker in gold and its popup links to this page.
        await page.goto(`${base}/`);
        await page.waitForFunction((ip) => window.knockmapTest?.markerScreenPosition(ip) ?? null, ATTACKER, { timeout: 30_000 });
        await page.waitForSelector('#live-status[data-state="live"]', { timeout: 15_000 });
        await openPopup(page, ATTACKER);
        await page.waitForSelector(".popup-details", { timeout: 10_000 });
        assert.match((await page.textContent(".popup")) ?? "", /Starred/);
        await page.click(".popup-details");
        await page.waitForURL(`${base}/ip/${ATTACKER}`);
        await page.waitForSelector(".facts", { timeout: 15_000 });

        // Shodan not answering in time is said so, not a broken page, and not cached.
        await page.goto(`${base}/ip/${SLOW}`);
        await page.waitForSelector(".shodan .page-error", { timeout: 15_000 });
        assert.match((await page.textContent(".shodan")) ?? "", /did not answer within 1 s/);
        assert.match((await page.textContent(".facts")) ?? "", /London/, "the rest of the page is there");

        // An address never seen, and garbage in the path, get a message, not a broken page.
        await page.goto(`${base}/ip/192.0.2.99`);
        await page.waitForSelector(".page-error");
        assert.match((await page.textContent(".page-error")) ?? "", /No events/);
        await page.goto(`${base}/ip/%3Cimg%20src=x%20onerror=alert(1)%3E`);
        await page.waitForSelector(".page-error");
        assert.match((await page.textContent(".page-error")) ?? "", /not an IP address/);
        assert.equal(await page.locator("img").count(), 0);

        assert.deepEqual(seen.dialogs, [], "no dialog was opened");
        assert.deepEqual(seen.pageErrors, [], "no uncaught page errors");
        const cspErrors = seen.consoleErrors.filter((t) => /Content Security Policy/i.test(t));
        assert.deepEqual(cspErrors, [], "no Content Security Policy violations");
      },
    );
  } finally {
    shodan.close();
  }
});

test("dashboard: time window, filters kept in the URL, top lists, a success after failures", { skip, timeout: 120_000 }, async () => {
  const US = "216.160.83.56"; // Milton, US in the MaxMind test database
  const failed = (ip, i) =>
    `${syslogNow()} web-01 sshd[${3000 + i}]: Failed password for root from ${ip} port ${50000 + i} ssh2\n`;
  await withServer([], async ({ base, appendLog, newPage }) => {
    await appendLog([failed(ATTACKER, 0), failed(ATTACKER, 1), failed(ATTACKER, 2), failed(US, 3), failed(US, 4)].join(""));
    await untilStored(`${base}/api/v1/stats`, (s) => s.attempts >= 5);
    const { page, seen } = await newPage({ width: 1400, height: 820 });
    const attempts = () => readCount(page, "#stat-attempts");
    const waitAttempts = async (n) => {
      try {
        await page.waitForFunction((n) => Number((document.getElementById("stat-attempts")?.textContent ?? "").replace(/\D/g, "")) === n, n, {
          timeout: 15_000,
        });
      } catch (err) {
        throw new Error(`attempts did not become ${n}: they are ${await attempts()} at ${page.url()}\n${err.message}`);
      }
    };

    // A shared link opens the same view. Its markers are asked for once before the live
    // stream starts (which asks again, for what it may have missed): boot.js starts the
    // request before the page's script loads, and the script takes it over.
    const requests = [];
    page.on("request", (r) => r.url().includes("/api/v1/markers") && requests.push(r.url()));
    page.on("websocket", () => requests.push("live"));
    await page.goto(`${base}/?window=24h`);
    await page.waitForSelector('#window-buttons button[data-window="24h"][aria-pressed="true"]');
    await waitAttempts(5);
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 15_000 });
    assert.equal(requests.indexOf("live"), 1, requests.join("\n"));
    // Nothing was stored while the page loaded: the live hello says so, and the page does
    // not ask for the markers again.
    await page.waitForTimeout(1500);
    assert.equal(requests.length, 2, requests.join("\n"));
    assert.match(requests[0], /format=columns&since=/);
    assert.equal(await page.evaluate(() => window.knockmapEarly?.size), 0, "boot.js's request, taken over");
    assert.match((await page.textContent("#delta-attempts")) ?? "", /new/, "nothing in the previous 24 hours");
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 15_000 });

    // Top lists; a country narrows everything, shown as a chip and kept in the URL.
    const countries = await page.$$eval(".side-countries .row-button", (els) => els.map((e) => e.textContent));
    assert.ok(countries.some((c) => /United Kingdom \(GB\)\s*3/.test(c)), JSON.stringify(countries));
    assert.ok(countries.some((c) => /United States \(US\)\s*2/.test(c)), JSON.stringify(countries));
    const users = await page.$$eval(".side-users li", (els) => els.map((e) => e.textContent));
    assert.ok(users.some((u) => /root\s*5/.test(u)), JSON.stringify(users));
    await page.click('.side-countries .row-button:has-text("United Kingdom")');
    await waitAttempts(3);
    assert.match(page.url(), /country=GB/);
    assert.match(page.url(), /window=24h/);
    assert.match((await page.textContent("#filter-chips")) ?? "", /United Kingdom \(GB\)/);
    await page.waitForFunction((ip) => window.knockmapTest?.markerScreenPosition(ip) === null, US);
    assert.ok(await page.evaluate((ip) => window.knockmapTest?.markerScreenPosition(ip) !== null, ATTACKER));
    const feedIps = await page.$$eval("#feed-list .ip", (els) => els.map((e) => e.textContent));
    assert.ok(feedIps.length > 0 && feedIps.every((ip) => ip === ATTACKER), `feed follows the filter: ${feedIps}`);
    // Reloading the URL gives the same view.
    await page.reload();
    await waitAttempts(3);
    await page.click("#filter-chips .chip");
    await waitAttempts(5);
    assert.doesNotMatch(page.url(), /country=/);

    // A click on a country on the map (away from any dot) narrows to it too.
    const kansas = await page.evaluate(() => window.knockmapTest.screenPoint(-100, 40));
    await page.mouse.click(kansas.x, kansas.y);
    await page.waitForFunction(() => /country=US/.test(location.search));
    await waitAttempts(2);
    assert.match((await page.textContent("#filter-chips")) ?? "", /United States/);
    await page.click("#filter-chips .chip");
    await waitAttempts(5);

    // A sensor filter, then another window.
    await page.click('.side-sensors .row-button:has-text("local")');
    await page.waitForFunction(() => /sensor=local/.test(location.search));
    await waitAttempts(5);
    await page.click('#window-buttons button[data-window="1h"]');
    await page.waitForFunction(() => /window=1h/.test(location.search));
    await waitAttempts(5);

    // A custom range in the past shows nothing and takes no live events.
    await page.click('#window-buttons button[data-window="custom"]');
    await page.waitForSelector("#custom-range:not([hidden])");
    await page.fill("#custom-since", "2020-01-01T00:00");
    await page.fill("#custom-until", "2020-01-02T00:00");
    await page.click('#custom-range button[type="submit"]');
    await waitAttempts(0);
    assert.match(page.url(), /window=custom/);
    assert.match(page.url(), /since=2020-01-0/);
    await appendLog(failed(ATTACKER, 5));
    await page.waitForTimeout(1500);
    assert.equal(await attempts(), 0, "a live event outside the window is not counted");

    // All time: a success from an address that failed before is an alert.
    await page.goto(`${base}/`);
    await waitAttempts(6);
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 15_000 });
    await appendLog(`${syslogNow()} web-01 sshd[3999]: Accepted password for root from ${ATTACKER} port 50999 ssh2\n`);
    await page.waitForSelector("#feed-list li.alert", { timeout: 15_000 });
    assert.match((await page.textContent("#feed-list li.alert")) ?? "", /login after failures/);
    await page.waitForFunction(
      (ip) => (document.querySelector(".side-successes")?.textContent ?? "").includes(ip),
      ATTACKER,
      { timeout: 10_000 },
    );
    assert.equal(await page.locator(".side-successes li.alert").count(), 1);
    assert.match((await page.textContent("#live-text")) ?? "", /^Live · newest \d+ s ago$/, "the age of the newest event");
    assert.equal(await readCount(page, "#stat-successes"), 1);
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "web-dashboard.png") });

    // The theme follows the system: light when it asks for light.
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: "dark" });
    assert.equal(await background(), "rgb(11, 15, 23)", "dark when the system is");
    await page.emulateMedia({ colorScheme: "light" });
    assert.equal(await background(), "rgb(238, 242, 247)", "light when the system is");
    await page.screenshot({ path: join(artifacts, "web-dashboard-light.png") });
    await page.emulateMedia({ colorScheme: "dark" });

    await assertAccessible(page, "dashboard");

    // The activity chart shows the failures.
    assert.ok((await page.locator(".side-activity svg rect.failure").count()) >= 1, "failed logins in the chart");
    assert.match((await page.getAttribute(".side-activity svg", "aria-label")) ?? "", /Events per hour/);

    // /recent/N: the map of the latest N events, as the original offered.
    await page.goto(`${base}/recent/1`);
    await page.waitForFunction((ip) => window.knockmapTest?.markerScreenPosition(ip) ?? null, ATTACKER, { timeout: 15_000 });
    assert.equal(await page.evaluate((ip) => window.knockmapTest.markerScreenPosition(ip), US), null, "older events are not on it");
    assert.match((await page.textContent("#recent-note")) ?? "", /latest event/);
    await page.goto(`${base}/`);
    await waitAttempts(7);

    // A network narrows everything: only the US address is in AS209.
    await page.click('.side-asns .row-button:has-text("AS209")');
    await page.waitForFunction(() => /asn=209/.test(location.search));
    await waitAttempts(2);
    assert.match((await page.textContent("#filter-chips")) ?? "", /Network: AS209/);
    await page.waitForFunction((ip) => window.knockmapTest?.markerScreenPosition(ip) === null, ATTACKER);
    assert.ok(await page.evaluate((ip) => window.knockmapTest?.markerScreenPosition(ip) !== null, US));
    await page.click("#filter-chips .chip");
    await waitAttempts(7);

    // So does a user name, exactly as tried (characters that mean something in a URL too),
    // and live events follow it.
    const ODD_USER = "ad min&x=1#";
    const invalid = (user, ip, i) =>
      `${syslogNow()} web-01 sshd[${4100 + i}]: Failed password for invalid user ${user} from ${ip} port ${51000 + i} ssh2\n`;
    await appendLog(invalid(ODD_USER, US, 0));
    await waitAttempts(8);
    // The top lists are counted again every 30 s; a reload shows the new name at once.
    await page.reload();
    await waitAttempts(8);
    await page.click(`.side-users .row-button:has-text("${ODD_USER}")`);
    await page.waitForFunction(() => new URL(location.href).searchParams.get("user") === "ad min&x=1#");
    await waitAttempts(1);
    assert.match((await page.textContent("#filter-chips")) ?? "", /User name: ad min&x=1#/);
    await page.waitForFunction((ip) => window.knockmapTest?.markerScreenPosition(ip) === null, ATTACKER);
    await appendLog(invalid("root", ATTACKER, 1) + invalid(ODD_USER, ATTACKER, 2));
    await waitAttempts(2);
    await page.waitForFunction((ip) => window.knockmapTest?.markerScreenPosition(ip) !== null, ATTACKER);
    const feedUsers = await page.$$eval("#feed-list .u", (els) => els.map((e) => e.textContent));
    assert.ok(feedUsers.length === 2 && feedUsers.every((u) => u === ODD_USER), `feed follows the filter: ${feedUsers}`);
    await page.reload();
    await waitAttempts(2);
    await page.click("#filter-chips .chip");
    await waitAttempts(10);

    // The feed shows each event's sensor and country flag, and pauses to be read: what
    // arrives meanwhile waits, counted on the button, while the counters go on.
    const firstRow = () => page.textContent("#feed-list li:first-child");
    assert.match((await page.getAttribute("#feed-list li:first-child .flag", "aria-label")) ?? "", /^United (Kingdom|States)$/);
    assert.equal(await page.textContent("#feed-list li:first-child .s"), "local");
    await page.click("#feed-pause");
    assert.equal(await page.getAttribute("#feed-pause", "aria-pressed"), "true");
    const shown = await firstRow();
    await appendLog(`${syslogNow()} web-01 sshd[4200]: Failed password for invalid user paused-user from ${ATTACKER} port 52000 ssh2\n`);
    await waitAttempts(11);
    assert.equal(await firstRow(), shown, "a paused feed does not move");
    assert.equal(await page.textContent("#feed-pause"), "Resume (1 new)");
    await page.click("#feed-pause");
    assert.match((await firstRow()) ?? "", /paused-user/);
    assert.equal(await page.textContent("#feed-pause"), "Pause");

    // Keyboard: the window buttons and panel rows are reachable and work with Enter.
    await page.focus('#window-buttons button[data-window="7d"]');
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /window=7d/.test(location.search));

    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(seen.pageErrors, []);
  });
});

test("public mode: the page and everything it loads show networks, never addresses or user names", { skip, timeout: 120_000 }, async () => {
  const SECRET_USER = "hunter2-as-a-user-name";
  const line = (i) =>
    `${syslogNow()} web-01 sshd[${5000 + i}]: Failed password for invalid user ${SECRET_USER} from ${ATTACKER} port ${45000 + i} ssh2\n`;
  await withServer(["--public"], async ({ base, appendLog, newPage }) => {
    await appendLog(line(0));
    await untilStored(`${base}/api/v1/stats`, (s) => s.events >= 1);
    const { page, seen } = await newPage({ width: 1400, height: 820 });
    // Every answer the page receives, and every websocket frame.
    const received = [];
    page.on("response", async (r) => {
      try {
        received.push(`${r.url()}\n${await r.text()}`);
      } catch {
        // a redirect or an aborted request has no body
      }
    });
    page.on("websocket", (ws) => ws.on("framereceived", (f) => received.push(String(f.payload))));
    await page.goto(`${base}/`);
    const network = "81.2.69.0/24";
    await page.waitForFunction((n) => window.knockmapTest?.markerScreenPosition(n) ?? null, network, { timeout: 30_000 });
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 15_000 });
    await appendLog(line(1));
    await page.waitForFunction(() => Number((document.getElementById("stat-attempts")?.textContent ?? "").replace(/\D/g, "")) === 2, null, {
      timeout: 15_000,
    });
    await openPopup(page, network);
    await page.waitForSelector(".popup .popup-note");
    assert.match((await page.textContent(".popup")) ?? "", /81\.2\.69\.0\/24/);
    assert.equal(await page.locator(".popup-details").count(), 0, "no link to an address page");
    assert.equal(await page.locator("#sign-in").count(), 0, "no sign-in");
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "web-public.png") });

    const html = await page.content();
    for (const secret of [ATTACKER, SECRET_USER]) {
      assert.ok(!html.includes(secret), `${secret} is not in the page`);
      const leaks = received.filter((r) => r.includes(secret));
      assert.deepEqual(leaks, [], `${secret} was not sent to the browser`);
    }
    assert.ok(received.some((r) => r.includes(network)), "the network was");
    assert.deepEqual(seen.pageErrors, []);
  });
});
