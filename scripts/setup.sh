#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build udpcast-rs and run every test:
# Debian's udpcast (the real peer of the interop tests), the network-lab tools, and the
# Rust targets and components. Safe to run again.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(udpcast iproute2 nftables tcpdump)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

rustup target add thumbv7em-none-eabihf
rustup component add clippy rustfmt
