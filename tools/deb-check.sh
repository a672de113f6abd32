#!/bin/sh
# deb-check.sh: the Debian packages end to end (issue 14), run by .ci/run.
# Builds the binary packages from a copy of the committed tree
# (dpkg-buildpackage -b -us -uc), fails on lintian errors, installs them,
# and then, from / with no build folder on any path (no GST_PLUGIN_PATH,
# LD_LIBRARY_PATH, GI_TYPELIB_PATH or SEGRANK_* variables): gst-inspect-1.0
# segnetinfer, a short pipeline through the installed models, the CLI, the
# typelib from Python, and tests/package/consumer.c compiled with
# `pkg-config --cflags --libs segrank gstsegrankmeta-1.0`. Removes the
# packages at the end (also on failure).
# Usage: tools/deb-check.sh  (as root; needs git, debhelper and lintian)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pkgs="libsegrank0 libsegrank-dev libgstsegrankmeta-1.0-0 libgstsegrankmeta-1.0-dev gir1.2-gstsegrank-1.0
  gstreamer1.0-segrank segrank segrank-models"
cleanup() {
  env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $pkgs >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/src"
(cd "$src" && git archive --format=tar HEAD) | tar -x -C "$work/src"
(cd "$work/src" && DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck" dpkg-buildpackage -b -us -uc) > "$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log"; echo "deb-check: dpkg-buildpackage failed"; exit 1; }
ls "$work"/*.deb
lintian --fail-on error --tag-display-limit 0 "$work"/*.changes
env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  $(ls "$work"/*.deb | grep -v -- -dbgsym_)
cd /
clean_env="env -u GST_PLUGIN_PATH -u GST_PLUGIN_PATH_1_0 -u LD_LIBRARY_PATH -u GI_TYPELIB_PATH -u SEGRANK_MODEL
  -u SEGRANK_UNARY_MODEL -u SEGRANK_RANKER -u GST_REGISTRY -u GST_REGISTRY_1_0 HOME=$work"
$clean_env gst-inspect-1.0 segnetinfer | grep -E "^  (Version|Long-name)|Filename" 
$clean_env gst-inspect-1.0 segrank | grep -q "svmrerank" || { echo "deb-check: plugin lacks svmrerank"; exit 1; }
$clean_env gst-launch-1.0 -q videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 ! segnetinfer \
  ! queue ! divmbest num-solutions=3 ! proposalscore ! segoverlay ! fakesink
echo "deb-check: pipeline through the installed models ran"
$clean_env segrank --version
$clean_env segrank info /usr/share/segrank/models/default.srmodel | head -3
test -f /usr/share/man/man1/segrank.1.gz && echo "deb-check: segrank(1) installed"
$clean_env /usr/bin/python3 -c "import gi; gi.require_version('GstSegrank', '1.0'); from gi.repository import GstSegrank; \
print('deb-check: typelib', GstSegrank.__name__)"
cc -o "$work/consumer" "$src/tests/package/consumer.c" $(pkg-config --cflags --libs segrank gstsegrankmeta-1.0 gstreamer-1.0)
$clean_env "$work/consumer"
echo "deb-check: all checks passed"
