#!/usr/bin/env bash
# Builds the release tarball: compiled JavaScript, the CO-RE BPF objects built
# once (they relocate on any BTF kernel), the runbooks, production npm
# dependencies only, the deploy files and the `sherlock` launcher. A host that
# unpacks it needs Node.js and libbpf1, not clang, bpftool or dev packages.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p 'require("./package.json").version')
arch=$(uname -m)
name="sherlock-${version}-linux-${arch}"
stage="build/release/${name}"

rm -rf "$stage" && mkdir -p "$stage/dist" "$stage/build/bpf"
cp -r dist/src "$stage/dist/src"
find "$stage/dist" -name '*.map' -delete
for obj in build/bpf/*/*.bpf.o; do
	mkdir -p "$stage/$(dirname "$obj")" && cp "$obj" "$stage/$obj"
done
cp -r runbooks bin deploy "$stage/"
cp package.json package-lock.json README.md "$stage/"
# The objects' minimal BTF is cut for the build kernel only; targets use their own /sys/kernel/btf.
(cd "$stage" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
tar -C build/release -czf "build/release/${name}.tar.gz" "$name"
size=$(du -h "build/release/${name}.tar.gz" | cut -f1)
echo "build/release/${name}.tar.gz  ${size}"
