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
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(webDir, "..");
const bin = resolve(webDir, process.env.KNOCKMAP_BIN || "../target/debug/knockmap");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = resolve(process.env.KNOCKMAP_ARTIFACTS || join(repo, "artifacts"));
const geoip = join(repo, "crates/knockmap-geo/tests/fixtures/GeoLite2-City-Test.mmdb");

const ATTACKER = "81.2.69.142"; // London in the MaxMind test database
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
function startServer(dir) {
  const args = [
    "serve",
    "--listen", "127.0.0.1:0",
    "--db", `sqlite://${join(dir, "k.sqlite")}`,
    "--no-geoip-download",
    "--geoip", geoip,
    "--source", join(dir, "auth.log"),
    "--home", "50.1,8.7",
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
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });

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

    // A real click on the dot opens the popup.
    await page.mouse.click(pos.x, pos.y);
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

    // A reload shows what is stored, not only what was seen live.
    await page.reload();
    await page.waitForFunction(
      (ip) => window.knockmapTest?.markerScreenPosition(ip) ?? null,
      ATTACKER,
      { timeout: 15_000 },
    );
    assert.ok((await readCount(page, "#stat-attempts")) > before, "attempts survive a reload");

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
    await rm(dir, { recursive: true, force: true });
  }
});
