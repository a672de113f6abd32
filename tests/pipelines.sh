#!/bin/sh
# pipelines.sh: runs every pipelines/*.pipeline the way the README does (from a
# directory holding demo/), and checks each wrote one PNG per bundled frame
# and posted no warning or error. rerank.pipeline and svmrerank.pipeline (the
# full chain) must draw the re-ranked proposals, not the net's own argmax:
# their overlays differ from demo.pipeline's.
set -eu
src="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s "$src/demo" "$tmp/demo"
cd "$tmp"
frames=$(ls demo/frames/*.png | wc -l)
for p in "$src"/pipelines/*.pipeline; do
  name=$(basename "$p" .pipeline)
  rm -rf out && mkdir out
  # Not -q: that would hide the bus's warnings, which must not appear.
  gst-launch-1.0 $(sed '/^#/d' "$p") >log 2>&1 || { cat log; echo "FAIL: $p"; exit 1; }
  if grep -q "^WARNING: \|^ERROR: " log; then cat log; echo "FAIL: $p posted a warning or error"; exit 1; fi
  n=$(ls out/*.png 2>/dev/null | wc -l)
  echo "$name.pipeline: $n of $frames frames written"
  [ "$n" -eq "$frames" ] || { echo "FAIL: $p"; exit 1; }
  mv out "out-$name"
done
for chain in rerank svmrerank; do
  [ -d "out-$chain" ] && [ -d out-demo ] || continue
  same=0
  for f in out-demo/*.png; do
    cmp -s "$f" "out-$chain/$chain-$(basename "$f")" && same=$((same + 1))
  done
  echo "$chain.pipeline: $same of $frames overlays identical to the net's own"
  [ "$same" -lt "$frames" ] || { echo "FAIL: $chain.pipeline drew the net's argmax"; exit 1; }
done
