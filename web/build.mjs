// Bundles the front end into OUTDIR: index.html, boot.js and app.js (the map), ip.html and
// ip.js (an attacker's page), app.css (both).
// Usage: node build.mjs <OUTDIR>
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outArg = process.argv[2];
if (!outArg) {
  console.error("usage: node build.mjs <OUTDIR>");
  process.exit(2);
}
const outDir = resolve(process.cwd(), outArg);
await mkdir(outDir, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  sourcemap: false,
  legalComments: "eof",
  logLevel: "warning",
  absWorkingDir: here,
};

for (const [entry, out] of [
  ["src/boot.ts", "boot.js"],
  ["src/main.ts", "app.js"],
  ["src/ip.ts", "ip.js"],
]) {
  await esbuild.build({
    ...common,
    entryPoints: [join(here, entry)],
    outfile: join(outDir, out),
    format: "iife",
    target: ["es2020"],
    platform: "browser",
    loader: { ".json": "json" },
    define: { "process.env.NODE_ENV": '"production"' },
  });
}

await esbuild.build({
  ...common,
  entryPoints: [join(here, "src/app.css")],
  outfile: join(outDir, "app.css"),
  target: ["chrome100", "firefox100", "safari15"],
});

// The pages are static: collapse the whitespace between tags and copy them.
for (const page of ["index.html", "ip.html"]) {
  const html = await readFile(join(here, "src", page), "utf8");
  await writeFile(join(outDir, page), html.replace(/>\s+</g, "><").trim() + "\n");
}

console.log(`knockmap web assets written to ${outDir}`);
