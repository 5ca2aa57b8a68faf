#!/usr/bin/env bash
# Installs the Debian packages Sherlock needs, only those that are missing,
# so a second run does nothing. Needs root (apt-get). `--bench` adds the
# benchmarks' own (make bench passes it).
set -euo pipefail

# prometheus: for promtool (test/server/promtool.test.ts checks /metrics and the alert rules with it).
# openssl: the evaluation makes a TLS certificate with it.
# postgresql: the evaluation's row-lock incident runs a cluster of its own (its packaged one is never started).
packages=(clang llvm binutils gcc g++ libbpf-dev libbpf1 bpftool redis-server iproute2 nftables chromium prometheus openssl postgresql)
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
# Sherlock starts the Redis it needs itself (the evaluation its own PostgreSQL) and only wants promtool from the prometheus
# package: no daemon is started by the install (policy-rc.d 101, restored afterwards).
policy=/usr/sbin/policy-rc.d
saved=""
[[ -e $policy ]] && saved=$(mktemp) && cp -p "$policy" "$saved"
printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
restore() { if [[ -n $saved ]]; then mv "$saved" "$policy"; else rm -f "$policy"; fi; }
trap restore EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}"
