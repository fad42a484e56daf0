#!/usr/bin/env bash
# Runs every check and test: formatting, lints, Rust unit/integration/end-to-end tests, and the
# browser test of the map page in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked --features knockmap-store/scratch -- -D warnings
cargo nextest run --workspace --locked
# A build without the PostgreSQL backend refuses its URLs clearly.
cargo nextest run --locked -p knockmap-store --no-default-features --features sqlite,mysql \
  -E 'test(a_backend_left_out_of_the_build)'

target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
cargo build --locked --bin knockmap
(cd web && npm run --silent typecheck && KNOCKMAP_BIN="$target_dir/debug/knockmap" npm test)
