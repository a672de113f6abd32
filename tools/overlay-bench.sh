#!/bin/sh
# overlay-bench.sh: segoverlay's time per frame at 1920x1080, per input format.
#
#   tools/overlay-bench.sh [-b BUILD] [-n FRAMES] [-r RUNS] [-f "RGB I420 NV12"] [-- SEGOVERLAY_PROPS...]
#
# Runs, per format and RUNS times,
#   videotestsrc num-buffers=FRAMES ! RGB 1920x1080 ! segnetinfer input-size=227
#     ! videoconvert ! FORMAT ! segoverlay PROPS ! fakesink
# with GStreamer's latency tracer (GST_TRACERS="latency(flags=element)"),
# which times each element per buffer, and prints the mean of segoverlay's
# times (the first frame left out: it allocates) per run and the minimum over
# the runs. When segoverlay does not take FORMAT (before issue 12 it took
# packed RGB only), it times what a user had to write instead,
# `videoconvert ! segoverlay ! videoconvert`: the three elements' sum.
# Figures, not a test: the load average is printed with them, since other
# work on the machine makes single runs noisy.
set -eu
build=build
frames=30
runs=3
formats="RGB I420 NV12"
while [ $# -gt 0 ]; do
  case "$1" in
    -b) build="$2"; shift 2 ;;
    -n) frames="$2"; shift 2 ;;
    -r) runs="$2"; shift 2 ;;
    -f) formats="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "overlay-bench.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
props="$*"
export GST_PLUGIN_PATH="$PWD/$build/gst"
export GST_REGISTRY_1_0="${TMPDIR:-/tmp}/overlay-bench-registry-$$.bin"
trap 'rm -f "$GST_REGISTRY_1_0"' EXIT
[ -n "${SEGRANK_MODEL:-}" ] || export SEGRANK_MODEL="$PWD/$build/models/default.srmodel"
caps=$(gst-inspect-1.0 segoverlay | sed -n '/SINK template/,/SRC template/p')

echo "load: $(uptime)"
echo "segoverlay $props; $frames frames of 1920x1080 per run, $runs runs; ms per frame"
for fmt in $formats; do
  if printf '%s' "$caps" | grep -q "$fmt"; then
    chain="videoconvert ! video/x-raw,format=$fmt ! segoverlay $props ! fakesink"
    timed="segoverlay0"
    what="segoverlay on $fmt"
  else
    chain="videoconvert ! video/x-raw,format=$fmt ! videoconvert ! video/x-raw,format=RGB ! segoverlay $props \
! videoconvert ! video/x-raw,format=$fmt ! fakesink"
    timed="videoconvert1 segoverlay0 videoconvert2"
    what="$fmt -> RGB, segoverlay, RGB -> $fmt (segoverlay takes no $fmt)"
  fi
  best=""
  all=""
  i=0
  while [ "$i" -lt "$runs" ]; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    ms=$(GST_TRACERS="latency(flags=element)" GST_DEBUG="GST_TRACER:7" GST_DEBUG_NO_COLOR=1 \
      gst-launch-1.0 -q videotestsrc num-buffers="$frames" pattern=smpte \
      ! video/x-raw,format=RGB,width=1920,height=1080,framerate=30/1 ! segnetinfer input-size=227 ! $chain 2>&1 |
      sed -n 's/.*element-latency.*element=(string)\([a-z0-9]*\),.*time=(guint64)\([0-9]*\).*/\1 \2/p' |
      awk -v timed="$timed" 'BEGIN { n = split(timed, t, " "); for (k = 1; k <= n; k++) want[t[k]] = 1 }
        want[$1] { seen[$1]++; if (seen[$1] > 1) { sum += $2; if ($1 == t[1]) frames++ } }
        END { if (frames) printf "%.2f", sum / frames / 1e6; else print "none" }')
    all="$all $ms"
    if [ "$ms" != none ] && { [ -z "$best" ] || awk -v a="$ms" -v b="$best" 'BEGIN { exit !(a < b) }'; }; then best=$ms; fi
  done
  printf '%-5s %s: runs%s, min %s\n' "$fmt" "$what" "$all" "${best:-none}"
done
