#!/bin/sh
# pipeline-bench.sh [FRAMES] [THREADS] [INPUT-SIZE] [M]: end-to-end frames/s of the
# pipeline (PNG decode -> segnetinfer -> segoverlay -> PNG encode) over the
# bundled 480x360 frames, looped; once as one thread of work and once with
# queues so decode, inference, overlay and encode of consecutive frames
# overlap; plus each stage alone, to show where the time goes; then the
# paper's full chain (segnetinfer -> divmbest with M solutions ->
# proposalscore, and svmrerank when a ranker is shipped) with queues.
# Figures, not pass/fail. Run from the repository root after building
# (BUILD=dir picks the build folder, default build; SEGRANK_CPU_ISA and
# SEGRANK_CPU_GEMM pass through to segnetinfer's cpu backend).
set -eu
N=${1:-120}
T=${2:-2}
S=${3:-227}  # net input side; 0 = the model's own size
M=${4:-10}   # DivMBest solutions in the full chain
BUILD=${BUILD:-build}
export GST_PLUGIN_PATH="$PWD/$BUILD/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
SRC="multifilesrc location=demo/frames/%05d.png loop=true num-buffers=$N caps=image/png,framerate=30/1"
run() { # label, pipeline...
  label=$1; shift
  t0=$(date +%s.%N)
  gst-launch-1.0 -q "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$label" "$t0" "$t1" | awk -v n="$N" '{ s = $3 - $2; printf "%-44s %7.2f s  %7.1f frames/s\n", $1, s, n / s }'
}
echo "pipeline-bench: $N frames of 480x360, $T threads for segnetinfer, net input $S (0 = the model's own)," \
  "plugin from $BUILD/gst, SEGRANK_CPU_ISA=${SEGRANK_CPU_ISA:-} SEGRANK_CPU_GEMM=${SEGRANK_CPU_GEMM:-}"
run "decode_only" $SRC ! pngdec ! videoconvert ! fakesink sync=false
run "decode+infer" $SRC ! pngdec ! videoconvert ! segnetinfer threads=$T input-size=$S ! fakesink sync=false
run "decode+infer+overlay" $SRC ! pngdec ! videoconvert ! segnetinfer threads=$T input-size=$S ! segoverlay ! fakesink sync=false
run "full_serial(decode,infer,overlay,encode)" $SRC ! pngdec ! videoconvert ! segnetinfer threads=$T input-size=$S ! segoverlay ! videoconvert ! pngenc compression-level=1 ! fakesink sync=false
run "full_with_queues" $SRC ! pngdec ! videoconvert ! queue max-size-buffers=4 ! segnetinfer threads=$T input-size=$S ! queue max-size-buffers=4 ! segoverlay ! queue max-size-buffers=4 ! videoconvert ! pngenc compression-level=1 ! fakesink sync=false
Q="queue max-size-buffers=4"
run "divmbest_only(M)" $SRC ! pngdec ! videoconvert ! divmbest num-solutions=$M threads=$T ! fakesink sync=false
run "full_chain_eq17_with_queues" $SRC ! pngdec ! videoconvert ! $Q ! segnetinfer threads=$T input-size=$S ! $Q \
  ! divmbest num-solutions=$M threads=$T ! $Q ! proposalscore ! segoverlay ! $Q ! videoconvert ! pngenc compression-level=1 \
  ! fakesink sync=false
if gst-inspect-1.0 svmrerank >/dev/null 2>&1 && [ -f "$BUILD/models/camvid.srranker" ]; then
  run "full_chain_svm_with_queues" $SRC ! pngdec ! videoconvert ! $Q ! segnetinfer threads=$T input-size=$S ! $Q \
    ! divmbest num-solutions=$M threads=$T ! $Q ! svmrerank ! segoverlay ! $Q ! videoconvert ! pngenc compression-level=1 \
    ! fakesink sync=false
fi
