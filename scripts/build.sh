#!/bin/sh
# What `make build` runs: builds ./app into build/vivarium (or $1). On macOS
# the binary is built for the oldest macOS Info.plist claims, then signed
# ad hoc with bundle/vivarium.entitlements (go run ./bundle/cmd/sign, the
# same signing as the .app's): Apple lets only a binary with
# com.apple.security.virtualization start a VM, and every runner is this
# same binary. GO names the go command (the Makefile passes its $(GO)).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=${1:-build/vivarium}

if [ "$(uname -s)" = Darwin ]; then
	# A cgo binary otherwise requires the macOS it was built on.
	MACOSX_DEPLOYMENT_TARGET=$(plutil -extract LSMinimumSystemVersion raw Info.plist)
	export MACOSX_DEPLOYMENT_TARGET
	echo "building $out for macOS $MACOSX_DEPLOYMENT_TARGET and later"
	CGO_ENABLED=1 "$GO" build -o "$out" ./app
	"$GO" run ./bundle/cmd/sign -entitlements bundle/vivarium.entitlements "$out"
else
	"$GO" build -o "$out" ./app
fi
