//! Builds the web page (`web/`, TypeScript + d3) with npm and esbuild into `OUT_DIR/web`, so
//! that `cargo build` from a fresh clone gives a binary with its page embedded. The bundle and
//! `node_modules` are never committed.
//!
//! Set `KNOCKMAP_WEB_DIST` to a directory holding a prebuilt `index.html`, `boot.js`,
//! `app.js`, `app.css`, `ip.html` and `ip.js` to skip npm (for packagers without Node.js).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const ASSETS: [&str; 6] = [
    "index.html",
    "boot.js",
    "app.js",
    "app.css",
    "ip.html",
    "ip.js",
];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("web");
    fs::create_dir_all(&out).expect("create OUT_DIR/web");
    println!("cargo:rerun-if-env-changed=KNOCKMAP_WEB_DIST");

    if let Some(dist) = env::var_os("KNOCKMAP_WEB_DIST") {
        let dist = PathBuf::from(dist);
        for asset in ASSETS {
            println!("cargo:rerun-if-changed={}", dist.join(asset).display());
            fs::copy(dist.join(asset), out.join(asset)).unwrap_or_else(|e| {
                panic!(
                    "KNOCKMAP_WEB_DIST: cannot copy {asset} from {}: {e}",
                    dist.display()
                )
            });
        }
        return;
    }

    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    let web = web.canonicalize().unwrap_or(web);
    for input in [
        "src",
        "build.mjs",
        "package.json",
        "package-lock.json",
        "index.html",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }

    // `npm ci` only when node_modules is missing or older than the lockfile.
    let lock = web.join("package-lock.json");
    let installed = web.join("node_modules/.package-lock.json");
    if is_stale(&installed, &lock) {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&web),
            "npm ci",
        );
    }
    run(
        Command::new("node")
            .arg("build.mjs")
            .arg(&out)
            .current_dir(&web),
        "node build.mjs",
    );
    for asset in ASSETS {
        assert!(
            out.join(asset).is_file(),
            "the web build did not produce {asset}"
        );
    }
}

fn is_stale(target: &Path, source: &Path) -> bool {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(target), modified(source)) {
        (Some(t), Some(s)) => t < s,
        _ => true,
    }
}

fn run(command: &mut Command, what: &str) {
    let status = command.status().unwrap_or_else(|e| {
        panic!(
            "building the web page needs Node.js 18+ and npm on PATH ({what}: {e}); \
             or set KNOCKMAP_WEB_DIST to a prebuilt bundle"
        )
    });
    assert!(status.success(), "{what} failed with {status}");
}
