#!/bin/sh
# longrun.sh: long runs of the element chain (issue 13), a tool, not a test.
#  1. valgrind --leak-check=full on VG_FRAMES frames of
#       videotestsrc ! videoconvert ! segnetinfer ! segoverlay ! fakesink
#     with the shipped model; fails when a "definitely lost" block was
#     allocated from our code (a frame in the segrank plugin or library).
#     Definite leaks elsewhere (GLib, GStreamer, drivers) are listed only.
#  2. The same chain for FRAMES frames without valgrind, VmRSS of the
#     process read from /proc/PID/status at frame 100 and frame FRAMES;
#     fails when it grew by more than MAX_GROWTH_PCT percent.
#
# Usage: tools/longrun.sh [BUILD_DIR]      (default: build; run from anywhere)
#   needs BUILD_DIR/gst (the plugin) and BUILD_DIR/models/default.srmodel.
# Environment (defaults):
#   VG_FRAMES=500 FRAMES=2000 MAX_GROWTH_PCT=10
#   WIDTH=480 HEIGHT=360     frames of the RSS run (CamVid's size)
#   VG_WIDTH=160 VG_HEIGHT=120 VG_INPUT_SIZE=99
#                            the valgrind run: smaller frames and net input,
#                            so 500 frames take minutes, not hours
#   BACKEND=cpu THREADS=2    segnetinfer's backend and threads
#   SKIP_VALGRIND=1          only the RSS run
# Exit: 0 clean, 1 definite leak in our code or RSS growth over the bound,
# 2 setup problem (no plugin, model, valgrind or gst-launch-1.0).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
VG_FRAMES=${VG_FRAMES:-500} FRAMES=${FRAMES:-2000} MAX_GROWTH_PCT=${MAX_GROWTH_PCT:-10}
WIDTH=${WIDTH:-480} HEIGHT=${HEIGHT:-360}
VG_WIDTH=${VG_WIDTH:-160} VG_HEIGHT=${VG_HEIGHT:-120} VG_INPUT_SIZE=${VG_INPUT_SIZE:-99}
BACKEND=${BACKEND:-cpu} THREADS=${THREADS:-2}
model=$build/models/default.srmodel
[ -f "$model" ] || { echo "longrun: no $model (build the project first)"; exit 2; }
[ -d "$build/gst" ] || { echo "longrun: no $build/gst"; exit 2; }
command -v gst-launch-1.0 >/dev/null || { echo "longrun: gst-launch-1.0 not found"; exit 2; }
[ "$FRAMES" -gt 100 ] || { echo "longrun: FRAMES must be above 100"; exit 2; }
export GST_PLUGIN_PATH_1_0="$build/gst"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GST_REGISTRY_1_0="$tmp/registry.bin"
status=0

# chain W H FRAMES [INPUT_SIZE]: the pipeline's arguments.
chain() {
  printf '%s\n' videotestsrc num-buffers="$3" pattern=ball \
    ! "video/x-raw,width=$1,height=$2,framerate=10/1" ! videoconvert \
    ! segnetinfer model="$model" backend="$BACKEND" threads="$THREADS" ${4:+input-size=$4} \
    ! segoverlay ! fakesink
}

# ---- 1. valgrind ----
if [ "${SKIP_VALGRIND:-0}" != 1 ]; then
  command -v valgrind >/dev/null || { echo "longrun: valgrind not found (apt-get install valgrind)"; exit 2; }
  supp="--suppressions=$src/tests/sanitizers/valgrind-gst.supp"
  [ -f /usr/share/glib-2.0/valgrind/glib.supp ] && supp="$supp --suppressions=/usr/share/glib-2.0/valgrind/glib.supp"
  echo "longrun: valgrind, $VG_FRAMES frames of ${VG_WIDTH}x$VG_HEIGHT, input-size $VG_INPUT_SIZE"
  t0=$(date +%s)
  # The registry first, outside valgrind (it spawns the plugin scanner).
  gst-inspect-1.0 segnetinfer >/dev/null
  # shellcheck disable=SC2046,SC2086
  G_SLICE=always-malloc G_DEBUG=gc-friendly valgrind --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --num-callers=40 $supp --log-file="$tmp/vg.log" \
    gst-launch-1.0 -q $(chain "$VG_WIDTH" "$VG_HEIGHT" "$VG_FRAMES" "$VG_INPUT_SIZE") >"$tmp/vg.out" 2>&1 ||
    { cat "$tmp/vg.out"; echo "longrun: the valgrind run failed"; status=1; }
  echo "longrun: valgrind run took $(($(date +%s) - t0)) s"
  grep -E "definitely lost:|indirectly lost:|ERROR SUMMARY" "$tmp/vg.log" | sed 's/^==[0-9]*== */  /'
  # Each "definitely lost" record up to its blank line; ours when a frame
  # is in the segrank plugin or library sources.
  awk -v ours="$tmp/ours.txt" -v theirs="$tmp/theirs.txt" '
    { sub(/^==[0-9]+== ?/, "") }
    /are definitely lost in loss record/ { rec = $0 "\n"; inrec = 1; mine = 0; next }
    inrec && /^$/ { print rec > (mine ? ours : theirs); inrec = 0; next }
    inrec { rec = rec $0 "\n"; if ($0 ~ /libgstsegrank|\/gst\/gst[a-z]*\.c|\/core\/|\(sr_|: sr_|gst_segnet|gst_sr_/) mine = 1 }
  ' "$tmp/vg.log"
  if [ -s "$tmp/ours.txt" ]; then
    echo "longrun: FAIL: definite leaks allocated from our code:"
    cat "$tmp/ours.txt"
    status=1
  else
    echo "longrun: no definite leak from our code"
  fi
  if [ -s "$tmp/theirs.txt" ]; then
    echo "longrun: definite leaks outside our code (not failing the run):"
    cat "$tmp/theirs.txt"
  fi
fi

# ---- 2. RSS over FRAMES frames ----
echo "longrun: RSS, $FRAMES frames of ${WIDTH}x$HEIGHT"
t0=$(date +%s)
mkfifo "$tmp/fifo"
# fakesink -v prints one last-message line per frame: count them, and read
# the process's VmRSS at frame 100 and frame FRAMES (10 spare frames after
# it keep the process alive for the reading).
# shellcheck disable=SC2046
gst-launch-1.0 -v $(chain "$WIDTH" "$HEIGHT" $((FRAMES + 10)) | sed 's/^fakesink$/fakesink silent=false/') \
  >"$tmp/fifo" 2>"$tmp/rss.err" &
pid=$!
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0; }
n=0 r100=0 rend=0
while IFS= read -r line; do
  case $line in *"last-message = chain"*) ;; *) continue ;; esac
  n=$((n + 1))
  [ "$n" -eq 100 ] && r100=$(rss)
  [ "$n" -eq "$FRAMES" ] && rend=$(rss)
done <"$tmp/fifo"
wait "$pid" || { cat "$tmp/rss.err"; echo "longrun: FAIL: the RSS run failed"; exit 1; }
echo "longrun: RSS run took $(($(date +%s) - t0)) s, $n frames"
if [ "$r100" -eq 0 ] || [ "$rend" -eq 0 ]; then
  echo "longrun: FAIL: could not sample VmRSS (frames seen: $n)"
  exit 1
fi
growth=$(awk -v a="$r100" -v b="$rend" 'BEGIN { printf "%.1f", 100 * (b - a) / a }')
echo "longrun: VmRSS at frame 100: $r100 kB, at frame $FRAMES: $rend kB, growth $growth%"
if awk -v g="$growth" -v m="$MAX_GROWTH_PCT" 'BEGIN { exit !(g > m) }'; then
  echo "longrun: FAIL: RSS grew by more than $MAX_GROWTH_PCT%"
  status=1
fi
exit $status
