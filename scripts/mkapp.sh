#!/bin/sh
# What `make app` runs: build vivarium and assemble build/Vivarium.app around
# it. On macOS the .app is signed ad hoc with bundle/vivarium.entitlements.
# Elsewhere the darwin binary cannot be built (it links Apple's
# Virtualization framework through cgo), so a test bundle is assembled around
# this host's binary instead, unsigned, to check the layout.
#
# BINARY=path uses an already built binary instead of building ./app.
set -eu
cd "$(dirname "$0")/.."

out=build
binary=${BINARY:-}

if [ "$(uname -s)" = Darwin ]; then
	if [ -z "$binary" ]; then
		binary=$out/vivarium
		sh scripts/build.sh "$binary"
	fi
	go run ./bundle/cmd/mkapp -binary "$binary" -out "$out" -sign
	exit 0
fi

echo "make app needs a Mac (the darwin binary links Apple's Virtualization framework through cgo);" >&2
echo "assembling a test bundle around the $(uname -s) binary instead into $out/Vivarium.app (unsigned)" >&2
if [ -z "$binary" ]; then
	binary=$out/vivarium
	go build -o "$binary" ./app
fi
go run ./bundle/cmd/mkapp -binary "$binary" -out "$out"
