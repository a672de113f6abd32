#!/bin/sh
# tools/table2.sh: the paper's Table 2 on CamVid val, every row from one
# run of this script (each step is skipped when its output exists, so an
# interrupted run resumes). Writes OUT/table2.md (the table docs/results.md
# carries) and the JSON/logs of every step beside it.
#
#   tools/table2.sh BUILD CAMVID_DIR OUT
#
# Inputs made by long training jobs (not by this script), by environment:
#   FOLDS       the -o of `segrank train --folds 5` on train (out-of-fold nets)
#   TRAIN_PROPS proposals of the train images, each from a unary that did not
#               see it (`segrank train-unary --folds 5 --fold f`, then
#               `segrank propose --folds 5 --fold f`)
#   CE_NET, UOICE_NET  the CE and UOI+CE nets (the shipped net is the UOI one)
#   M (30), LAMBDA (0.2): proposals per image and DivMBest's diversity weight;
#   RANKER_ARGS: more `segrank train-ranker` options (e.g. --margin 2).
set -eu
BUILD=$1 CAMVID=$2 OUT=$3
S="$BUILD/tools/segrank/segrank"
D="camvid:$CAMVID"
M=${M:-30}
LAMBDA=${LAMBDA:-0.2}
: "${FOLDS:?set FOLDS}" "${TRAIN_PROPS:?set TRAIN_PROPS}" "${CE_NET:?set CE_NET}" "${UOICE_NET:?set UOICE_NET}"
UOI_NET=${UOI_NET:-models/default.srmodel}
mkdir -p "$OUT"
step() { # step NAME OUTPUT COMMAND...: runs COMMAND unless OUTPUT exists, logging to OUT/NAME.log
  name=$1 out=$2
  shift 2
  if [ -e "$out" ]; then echo "[table2] $name: done already"; return; fi
  echo "[table2] $name"
  "$@" 2>&1 | tr '\r' '\n' | { grep -v ' images/s ' || true; } > "$OUT/$name.log"
  [ -e "$out" ] || { echo "[table2] $name failed, see $OUT/$name.log"; tail -5 "$OUT/$name.log"; exit 1; }
}

step props-val "$OUT/props-val" \
  "$S" propose -d "$D" --split val -M "$M" -l "$LAMBDA" -o "$OUT/props-val"
# Rankers: all features, each group alone, each pair.
step train-ranker "$OUT/ranker.all.srranker" \
  "$S" train-ranker -d "$D" -p "$TRAIN_PROPS" --folds "$FOLDS" -m "$UOI_NET" -M "$M" \
    -g all -g segnet -g cls -g source -g segnet,cls -g segnet,source -g cls,source ${RANKER_ARGS:-} -o "$OUT/ranker.srranker"
R=""
for g in all segnet cls source segnet+cls segnet+source cls+source; do R="$R -r $OUT/ranker.$g.srranker"; done
# shellcheck disable=SC2086
step svm "$OUT/svm.json" "$S" rerank -p "$OUT/props-val" -d "$D" -m "$UOI_NET" -M "$M" $R --json "$OUT/svm.json"
for net in uoi:"$UOI_NET" ce:"$CE_NET" uoice:"$UOICE_NET"; do
  tag=${net%%:*} file=${net#*:}
  [ -f "$file" ] || { echo "[table2] $file missing: its rows are left out (rerun when it exists)"; continue; }
  step "eval-$tag" "$OUT/eval-$tag.json" "$S" eval -m "$file" -d "$D" --json "$OUT/eval-$tag.json"
  step "kl-$tag" "$OUT/kl-$tag.json" "$S" rerank -p "$OUT/props-val" -d "$D" -m "$file" -M "$M" --json "$OUT/kl-$tag.json"
done
python3 "$(dirname "$0")/table2_report.py" "$OUT" "$M" > "$OUT/table2.md"
cat "$OUT/table2.md"
