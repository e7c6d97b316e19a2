#!/usr/bin/env bash
# deps.sh installs the Debian packages admit needs, and only those missing.
#   scripts/deps.sh build   what `make run` needs: cgo headers for libusb (gousb)
#   scripts/deps.sh test    what `make test` needs on top: umockdev for the emulated
#                           USB devices, and Chromium for the browser tests
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

build_pkgs=(gcc pkg-config libusb-1.0-0-dev)
test_pkgs=(umockdev libumockdev0 gir1.2-umockdev-1.0 python3-gi chromium)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then
	want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "admit needs these Debian packages: ${missing[*]}" >&2
	echo "install them as root with:" >&2
	echo "  sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
$cmd >/dev/null
