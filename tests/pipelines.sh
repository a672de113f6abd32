#!/bin/sh
# pipelines.sh: runs every pipelines/*.pipeline the way the README does (from a
# directory holding demo/), and checks each wrote one PNG per bundled frame.
set -eu
src="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s "$src/demo" "$tmp/demo"
cd "$tmp"
frames=$(ls demo/frames/*.png | wc -l)
for p in "$src"/pipelines/*.pipeline; do
  rm -rf out && mkdir out
  gst-launch-1.0 -q $(sed '/^#/d' "$p")
  n=$(ls out/*.png 2>/dev/null | wc -l)
  echo "$(basename "$p"): $n of $frames frames written"
  [ "$n" -eq "$frames" ] || { echo "FAIL: $p"; exit 1; }
done
