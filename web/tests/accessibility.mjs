// Accessibility checks for the browser tests: axe-core's WCAG 2.1 A/AA rules, and a contrast
// check of every visible text against what it can stand on.
//
// axe cannot judge the contrast of text on a see-through panel over the map, nor on a
// gradient: it leaves those "incomplete". The contrast check here works them out: for each
// text it composes the element's backgrounds, and where a see-through layer lies over the
// map, every colour the map can show through it (the page, the sea, the land, each colour of
// dot), and takes the worst ratio. WCAG AA: 4.5:1, or 3:1 for large text (24 px, or 18.66 px
// bold).

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axeSource = await readFile(require.resolve("axe-core/axe.min.js"), "utf8");

/** What axe finds against WCAG 2.1 A and AA, one line per rule and element. */
async function axeViolations(page) {
  // Through the devtools protocol, as a script the page's Content-Security-Policy rightly
  // would not load.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}: ${n.failureSummary}`));
  });
}

/** Texts whose contrast is below WCAG AA, and how many texts were checked. */
function contrastFailures(page) {
  return page.evaluate(() => {
    const parse = (css) => {
      const m = /rgba?\(([^)]+)\)/.exec(css);
      if (!m) return null;
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
    const channel = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const ratio = (a, b) => {
      const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
      return (hi + 0.05) / (lo + 0.05);
    };
    const colorOf = (css) => {
      const probe = document.createElement("span");
      probe.style.color = css;
      document.body.append(probe);
      const c = parse(getComputedStyle(probe).color);
      probe.remove();
      return c;
    };
    const map = document.getElementById("map")?.getBoundingClientRect() ?? null;
    const mapColors = map
      ? ["var(--bg)", "var(--ocean)", "var(--land)", ...(window.knockmapTest?.dotColors ?? [])].map(colorOf)
      : [];

    /** Every colour the element's text may stand on. */
    const backgrounds = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const s = getComputedStyle(e);
        const stops = [...s.backgroundImage.matchAll(/rgba?\([^)]+\)/g)].map((m) => parse(m[0]));
        const color = parse(s.backgroundColor);
        const options = stops.length ? stops : color && color[3] > 0 ? [color] : null;
        if (!options) continue;
        layers.push(options);
        if (options.every((c) => c[3] >= 1)) break;
      }
      const bottom = layers.length && layers.at(-1).every((c) => c[3] >= 1) ? layers.pop() : [];
      const r = el.getBoundingClientRect();
      const overMap = !!map && r.left < map.right && r.right > map.left && r.top < map.bottom && r.bottom > map.top;
      let colors = (layers.length && overMap) || !bottom.length ? [...bottom, ...mapColors] : bottom;
      while (layers.length) {
        const top = layers.pop();
        colors = colors.flatMap((under) => top.map((t) => over(t, under)));
      }
      return colors;
    };

    const failures = [];
    let checked = 0;
    const seen = new Set();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || seen.has(el) || !n.textContent.trim()) continue;
      seen.add(el);
      // Hidden text and disabled controls are exempt; chart labels inside SVG are checked by
      // axe.
      if (el.closest("[hidden], [aria-hidden=true], svg, :disabled")) continue;
      const rect = el.getBoundingClientRect();
      const s = getComputedStyle(el);
      if (rect.width === 0 || rect.height === 0 || s.visibility !== "visible" || Number(s.opacity) === 0) continue;
      const size = parseFloat(s.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
      const need = large ? 3 : 4.5;
      const text = parse(s.color);
      const worst = Math.min(...backgrounds(el).map((bg) => ratio(over(text, bg), bg)));
      checked++;
      if (worst < need) {
        const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${[...el.classList].map((c) => `.${c}`).join("")}`;
        failures.push(`${name} "${n.textContent.trim().slice(0, 40)}": ${worst.toFixed(2)} < ${need}`);
      }
    }
    return { checked, failures };
  });
}

/** Every accessibility problem found on the page as it is now; `checked` counts the texts
 * whose contrast was measured, so a test can tell that there was something to check. */
export async function accessibilityProblems(page) {
  const { checked, failures } = await contrastFailures(page);
  return { checked, problems: [...(await axeViolations(page)), ...failures.map((f) => `contrast: ${f}`)] };
}
