#!/usr/bin/env bash
# Installs the Debian packages Sherlock needs, only those that are missing,
# so a second run does nothing. Needs root (apt-get). `--bench` adds the
# benchmarks' own (make bench passes it).
set -euo pipefail

packages=(clang llvm binutils gcc g++ libbpf-dev libbpf1 bpftool redis-server iproute2 nftables chromium)
# `--bench`: also what only the benchmarks use (bpftrace, for the tracer comparison).
[[ "${1:-}" == "--bench" ]] && packages+=(bpftrace time)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "sherlock: missing Debian packages (${missing[*]}); run as root or install them" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
