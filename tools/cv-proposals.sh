#!/bin/sh
# cv-proposals.sh: leave-one-sequence-out cross-validation of the proposal
# source's hyper-parameters on CamVid train (sequences 0001TP, 0006R0,
# 0016E5), as proposal-recipe.md asks: for each held-out sequence a unary
# model is trained on the other two (per C), then the held-out frames give
# the MAP mIoU per Potts weight and the oracle@30 per DivMBest lambda.
# Long job (tens of minutes on 2 cores), not a test. Usage:
#   tools/cv-proposals.sh BUILD_DIR CAMVID_DIR OUT_DIR
# Results: OUT_DIR/summary.txt.
set -eu
BUILD=${1:-build}; CAMVID=${2:-../shared/datasets/camvid}; OUT=${3:-cv-out}
SEG=${SEGRANK:-"$BUILD/tools/segrank/segrank"}
SEQS="0001TP 0006R0 0016E5"
CS=${CV_CS:-"0.1 1"}
WPS=${CV_WPS:-"0 0.3 0.6 1.0 1.6"}
LAMBDAS=${CV_LAMBDAS:-"0.05 0.1 0.2 0.4 0.8"}
mkdir -p "$OUT"
for s in $SEQS; do
  for c in $CS; do
    m="$OUT/unary-$s-C$c.srunary"
    [ -f "$m" ] || "$SEG" train-unary --dataset "camvid:$CAMVID" --split train --holdout-sequence "$s" \
      --frame-stride 3 -C "$c" -o "$m" > "$OUT/train-$s-C$c.log" 2>&1
  done
done
for s in $SEQS; do
  for c in $CS; do
    for wp in $WPS; do
      log="$OUT/map-$s-C$c-wp$wp.log"
      [ -f "$log" ] || "$SEG" propose --unary "$OUT/unary-$s-C$c.srunary" --dataset "camvid:$CAMVID" --split train \
        --only "$s" -M 1 --pairwise-weight "$wp" > "$log" 2>/dev/null
    done
  done
done
# Best C and wp by the mean over folds of the MAP mIoU.
best=$(for c in $CS; do for wp in $WPS; do
  awk -v c="$c" -v wp="$wp" '/CRF MAP mIoU/ {s += $4; n++} END {printf "%.3f %s %s\n", s / n, c, wp}' \
    $(for s in $SEQS; do echo "$OUT/map-$s-C$c-wp$wp.log"; done)
done; done | sort -rn | head -1)
C=$(echo "$best" | cut -d' ' -f2); WP=$(echo "$best" | cut -d' ' -f3)
for s in $SEQS; do
  for l in $LAMBDAS; do
    d="$OUT/props-$s-l$l"
    [ -f "$d.eval" ] || { "$SEG" propose --unary "$OUT/unary-$s-C$C.srunary" --dataset "camvid:$CAMVID" --split train \
        --only "$s" -M 30 --pairwise-weight "$WP" --lambda "$l" --out-dir "$d" > "$d.propose" 2>/dev/null &&
      "$SEG" eval --proposals "$d" --dataset "camvid:$CAMVID" --split train --only "$s" > "$d.eval.tmp" 2>/dev/null &&
      mv "$d.eval.tmp" "$d.eval" && rm -rf "$d"; }
  done
done
{
  echo "# leave-one-sequence-out on CamVid train: mean over the 3 held-out sequences"
  echo "## MAP mIoU (M = 1) per C and Potts weight"
  for c in $CS; do for wp in $WPS; do
    printf "C %-4s wp %-4s" "$c" "$wp"
    for s in $SEQS; do printf " %s %6s" "$s" "$(awk '/CRF MAP mIoU/ {print $4}' "$OUT/map-$s-C$c-wp$wp.log")"; done
    printf "  unary %s" "$(for s in $SEQS; do awk '/unary argmax mIoU/ {print $4}' "$OUT/map-$s-C$c-wp$wp.log"; done | awk '{s+=$1} END {printf "%.2f", s/NR}')"
    awk '/CRF MAP mIoU/ {s += $4; n++} END {printf "  mean MAP %.2f\n", s / n}' $(for s in $SEQS; do echo "$OUT/map-$s-C$c-wp$wp.log"; done)
  done; done
  echo "chosen: C $C, wp $WP"
  echo "## oracle mIoU per lambda (C $C, wp $WP, M = 30)"
  for l in $LAMBDAS; do
    printf "lambda %-5s" "$l"
    for k in 1 5 10 20 30; do
      printf " @%s %s" "$k" "$(for s in $SEQS; do awk -v k="oracle@$k" '$1 == k {print $3}' "$OUT/props-$s-l$l.eval"; done | awk '{s+=$1} END {printf "%.2f", s/NR}')"
    done
    printf " diversity10 %s\n" "$(for s in $SEQS; do awk '/diversity/ {print $6}' "$OUT/props-$s-l$l.eval"; done | awk '{s+=$1} END {printf "%.4f", s/NR}')"
  done
} > "$OUT/summary.txt"
cat "$OUT/summary.txt"
