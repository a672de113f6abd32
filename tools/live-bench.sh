#!/bin/sh
# live-bench.sh [FRAMES] [WIDTHxHEIGHT] [FORMAT]: how many frames of a live
# 30 frames/s source reach a display-like sink (sync=true, qos=true, frames
# more than 20 ms late dropped, as autovideosink does) through segnetinfer
# at the shipped model's input, for several settings: the net on every
# frame without QoS, with QoS (late frames reuse the latest result, the
# default), interval=2, batch-size=4; and identity as the ceiling. Then the
# cost of the input format: segnetinfer fed FORMAT directly (converted at the
# net's size inside) against videoconvert to RGB first. Figures, not
# pass/fail. Run from the repository root after building.
set -eu
N=${1:-300}
SIZE=${2:-640x480}
FMT=${3:-I420}
W=${SIZE%x*}
H=${SIZE#*x}
export GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
SRC="videotestsrc is-live=true num-buffers=$N pattern=ball ! video/x-raw,format=$FMT,width=$W,height=$H,framerate=30/1"
SINK="fakesink sync=true qos=true max-lateness=20000000 silent=false"
shown() { # label, filter...: frames rendered by the sink
  label=$1; shift
  n=$(gst-launch-1.0 -v $SRC ! "$@" ! $SINK 2>&1 | grep -c "last-message = chain" || true)
  printf "%-44s %5d of %d frames shown (%5.1f%%)\n" "$label" "$n" "$N" "$(echo "$n $N" | awk '{print 100 * $1 / $2}')"
}
echo "live-bench: $N frames of ${W}x${H} $FMT at 30 frames/s, model ${SEGRANK_MODEL:-build/models/default.srmodel}"
shown "identity" identity
shown "segnetinfer qos=false" segnetinfer qos=false
shown "segnetinfer (qos, the default)" segnetinfer
shown "segnetinfer interval=2 qos=false" segnetinfer interval=2 qos=false
shown "segnetinfer batch-size=4" segnetinfer batch-size=4
# The input format's cost, as fast as it goes (not live).
FILE="videotestsrc num-buffers=$N pattern=ball ! video/x-raw,format=$FMT,width=$W,height=$H,framerate=30/1"
timed() { # label, pipeline...
  label=$1; shift
  t0=$(date +%s.%N)
  gst-launch-1.0 -q "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$t0 $t1" | awk -v n="$N" -v l="$label" '{ s = $2 - $1; printf "%-44s %7.2f s  %7.1f frames/s\n", l, s, n / s }'
}
timed "$FMT -> segnetinfer (inside)" $FILE ! segnetinfer ! fakesink sync=false
timed "$FMT -> videoconvert -> RGB -> segnetinfer" $FILE ! videoconvert ! video/x-raw,format=RGB ! segnetinfer ! fakesink sync=false
timed "$FMT -> videoconvert -> RGB (no net)" $FILE ! videoconvert ! video/x-raw,format=RGB ! fakesink sync=false
