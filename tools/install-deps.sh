#!/bin/sh
# install-deps.sh: installs the Debian packages segrank builds, tests and runs
# with, when any is missing. Runs as root without prompts (uses sudo otherwise).
set -eu
PKGS="build-essential meson ninja-build pkg-config
  libglib2.0-dev libjson-glib-dev libpng-dev libopenblas-dev libcairo2-dev
  libprotobuf-c-dev protobuf-c-compiler libvlfeat-dev libmatio-dev libjpeg-dev liblinear-dev
  libvulkan-dev glslc mesa-vulkan-drivers
  gobject-introspection libgirepository1.0-dev gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 python3-gi
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  python3 python3-numpy python3-opencv
  clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "install-deps: installing$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
