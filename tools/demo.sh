#!/bin/sh
# demo.sh: the README's main command. Installs dependencies, builds, and runs
# pipelines/demo.pipeline (the net's segmentation) and pipelines/proposals.pipeline
# (the proposal source's MAP) over the bundled frames with the shipped models.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
mkdir -p out
GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" \
  gst-launch-1.0 -q $(sed '/^#/d' pipelines/demo.pipeline)
GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" \
  gst-launch-1.0 -q $(sed '/^#/d' pipelines/proposals.pipeline)
echo "demo: overlay images written to $PWD/out/: $(ls out/0*.png | wc -l) of the net (NNNNN.png)," \
  "$(ls out/proposals-*.png | wc -l) of the proposal source's MAP (proposals-NNNNN.png)"
