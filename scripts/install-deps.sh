#!/bin/sh
# Installs the Debian packages Altitude needs to build, test and benchmark,
# skipping those already present.  Runs apt-get only when something is missing.
set -eu
PKGS="build-essential meson ninja-build pkg-config libfuse3-dev fuse3 \
libcmocka-dev libsqlite3-dev zlib1g-dev libssl-dev sqlite3 attr acl rsync git python3 util-linux \
fio hyperfine xfsprogs clang libclang-rt-14-dev libcap2-bin"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "Installing:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need root to install packages" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
fi
