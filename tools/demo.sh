#!/bin/sh
# demo.sh: the README's main command. Installs dependencies, builds, and runs
# pipelines/demo.pipeline (the net's segmentation), pipelines/proposals.pipeline
# (the proposal source's MAP), pipelines/rerank.pipeline (the full chain:
# the proposal eq. 17 picks with the net) and pipelines/svmrerank.pipeline
# (the full chain with the shipped ranking SVM) over the bundled frames with
# the shipped models.
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
GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" \
  gst-launch-1.0 -q $(sed '/^#/d' pipelines/rerank.pipeline)
GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" \
  gst-launch-1.0 -q $(sed '/^#/d' pipelines/svmrerank.pipeline)
echo "demo: overlay images written to $PWD/out/: $(ls out/0*.png | wc -l) of the net (NNNNN.png)," \
  "$(ls out/proposals-*.png | wc -l) of the proposal source's MAP (proposals-NNNNN.png)," \
  "$(ls out/rerank-*.png | wc -l) of the eq. 17 picks (rerank-NNNNN.png)," \
  "$(ls out/svmrerank-*.png | wc -l) of the ranking SVM's picks (svmrerank-NNNNN.png)"
