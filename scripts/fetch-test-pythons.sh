#!/usr/bin/env bash
# Newer CPythons for the Python-frame tests: Debian 12 ships 3.11 only, so
# Debian's own builds of 3.13 (trixie) and 3.14 (forky) are downloaded with
# apt-get (a private sources list and state, the host's archive keyring) and
# unpacked, with the glibc they need, under build/pythons/<version>/; nothing
# is installed into the system. Each runs through its own dynamic loader:
# build/pythons/<version>/python<version> is a wrapper that does that. The
# internal headers (libpython<version>-dev's include/) come along, for the
# tests that check the interpreter's debug offsets against them.
# Safe to run twice (a version is fetched once); never fails the build: a
# version that cannot be fetched leaves build/pythons/<version>/problem,
# and the tests that need it skip with that reason.
set -uo pipefail
cd "$(dirname "$0")/.."
dest=$(realpath -m "${SHERLOCK_TEST_PYTHONS:-build/pythons}") # apt wants absolute paths
# version:suite
wanted=(3.13:trixie 3.14:forky)
archive=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

apt_opts() { # suite
	local state=$dest/apt-$1
	echo "-o Dir::Etc::SourceList=$state/sources.list -o Dir::Etc::SourceParts=/nonexistent" \
		"-o Dir::State::Lists=$state/lists -o Dir::Cache=$state/cache -o Dir::State::Status=$state/status" \
		"-o APT::Architecture=amd64 -o Acquire::Languages=none -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
}

fetch() { # version suite
	local version=$1 suite=$2 dir=$dest/$1 state=$dest/apt-$2
	mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$dir.tmp/debs" || return 1
	touch "$state/status"
	echo "deb [signed-by=$keyring] $archive $suite main" >"$state/sources.list"
	# shellcheck disable=SC2046
	apt-get $(apt_opts "$suite") -qq --error-on=any update || return 1
	# The interpreter (static libpython), its minimal stdlib, the headers, and the
	# libraries it links (libc's version is newer than the host's).
	(cd "$dir.tmp/debs" && apt-get $(apt_opts "$suite") -qq download \
		"python$version-minimal" "libpython$version-minimal" "libpython$version-dev" \
		libc6 libgcc-s1 libexpat1 zlib1g) || return 1
	mkdir -p "$dir.tmp/root"
	for deb in "$dir.tmp"/debs/*.deb; do
		case $deb in
		*-dev_*) dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir.tmp/root" ./usr/include || return 1 ;;
		*) dpkg-deb -x "$deb" "$dir.tmp/root" || return 1 ;;
		esac
	done
	rm -rf "$dir.tmp/debs"
	# Started through a link named python<version>, the loader's process is called that (comm).
	mkdir -p "$dir.tmp/loader"
	ln -s ../root/usr/lib64/ld-linux-x86-64.so.2 "$dir.tmp/loader/python$version"
	cat >"$dir.tmp/python$version" <<-EOF
		#!/bin/sh
		# Debian $suite's python$version, run by its own loader and C library (scripts/fetch-test-pythons.sh).
		here=\$(dirname "\$(readlink -f "\$0")")
		exec "\$here/loader/python$version" --library-path "\$here/root/usr/lib/x86_64-linux-gnu" "\$here/root/usr/bin/python$version" "\$@"
	EOF
	chmod 755 "$dir.tmp/python$version"
	"$dir.tmp/python$version" -c 'import sys, threading, time' || return 1
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

for entry in "${wanted[@]}"; do
	version=${entry%%:*} suite=${entry##*:}
	[[ -x $dest/$version/python$version ]] && continue
	rm -rf "$dest/$version.tmp"
	if log=$(fetch "$version" "$suite" 2>&1); then
		echo "test pythons: python$version from Debian $suite in $dest/$version"
	else
		rm -rf "$dest/$version.tmp" "$dest/$version"
		mkdir -p "$dest/$version"
		printf 'python%s could not be fetched from Debian %s: %s\n' "$version" "$suite" "$(echo "$log" | tail -3 | tr '\n' ' ')" >"$dest/$version/problem"
		echo "test pythons: warning: $(cat "$dest/$version/problem")" >&2
	fi
done
exit 0
