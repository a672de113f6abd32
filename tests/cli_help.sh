#!/bin/sh
# cli_help.sh: `segrank` help and argument checking (issue 12). Every
# subcommand's --help exits 0, names the program and lists its options in
# UTF-8 under a UTF-8 locale; the backends, dataset kinds and upsamplings the
# help names are exactly the ones the code takes, and anything else is
# refused with a message and a non-zero status; `infer` reads JPEG.
# Usage: SEGRANK_BIN=… cli_help.sh SOURCE_ROOT
set -u
BIN=${SEGRANK_BIN:?SEGRANK_BIN must name the segrank binary}
SRC=${1:?usage: cli_help.sh SOURCE_ROOT}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LC_ALL=C.UTF-8
fails=0
fail() {
  echo "FAIL: $*"
  sed 's/^/  | /' "$T/err" 2>/dev/null | tail -5
  fails=$((fails + 1))
}

# run CMD...: runs it (60 s at most) with stdout in $T/out, stderr in $T/err, status in $rc.
run() {
  timeout 60 "$@" >"$T/out" 2>"$T/err"
  rc=$?
}

# refused NEEDLE CMD...: CMD exits 1..123 and says NEEDLE on stderr.
refused() {
  needle=$1
  shift
  run "$@"
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ]; then
    fail "rc $rc: $*"
  elif ! grep -qF -- "$needle" "$T/err"; then
    fail "message lacks '$needle': $*"
  else
    echo "ok   rc $rc: $* -> $(head -1 "$T/err")"
  fi
}

# not_refused_for NEEDLE CMD...: CMD parses and its stderr does not say NEEDLE (it fails later, on something else).
not_refused_for() {
  needle=$1
  shift
  run "$@"
  if [ "$rc" -ge 124 ] || grep -qF -e "$needle" -e "Unknown option" -e "Cannot parse" "$T/err"; then
    fail "rc $rc, '$needle': $*"
  else
    echo "ok   accepted: $* -> $(head -1 "$T/err")"
  fi
}

# names TEXT: the comma/"or"-separated words of TEXT, one a line, sorted.
names() { echo "$1" | sed 's/ or /, /g; s/, /\n/g' | sed '/^$/d' | sort; }

"$BIN" init --classes 2 -o "$T/net.srmodel" >/dev/null || { echo "init failed"; exit 1; }
python3 -c 'import struct,sys; h=b"{'"'"'descr'"'"': '"'"'<f4'"'"', '"'"'fortran_order'"'"': False, '"'"'shape'"'"': (1, 3, 8, 8), }"; h+=b" "*(-(len(h)+11)%64)+b"\n"; open(sys.argv[1],"wb").write(b"\x93NUMPY\x01\x00"+struct.pack("<H",len(h))+h+b"\0"*(4*192))' "$T/x.npy" 2>/dev/null ||
  { echo "python3 missing: skipped"; exit 77; }

# 1. Every command's --help: status 0, "Usage: segrank CMD [OPTION…]", options listed.
run "$BIN" --help
[ "$rc" -eq 0 ] || fail "segrank --help: rc $rc"
cmds=$(sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' "$T/out")
[ -n "$cmds" ] || fail "segrank --help lists no commands"
for c in $cmds; do
  run "$BIN" "$c" --help
  if [ "$rc" -ne 0 ]; then
    fail "segrank $c --help: rc $rc"
  elif ! grep -q "^  segrank $c \[OPTION…\]" "$T/out"; then
    fail "segrank $c --help: no 'segrank $c [OPTION…]' usage line (program name; … in UTF-8, not ?)"
    sed 's/^/  | /' "$T/out" | head -3
  elif ! grep -q '^  -.*--[a-z]' "$T/out"; then
    fail "segrank $c --help lists no options"
  else
    echo "ok   segrank $c --help"
  fi
  cp "$T/out" "$T/help-$c"
done
grep -q '×' "$T/help-forward" || fail "forward --help lacks '×' under C.UTF-8"

# 2. Backends: each name a --backend help line gives is taken, anything else refused
# with the same list. Every command checks the name before anything slow.
backend_cmd() { # CMD BACKEND: a command line of CMD that gets as far as checking BACKEND
  case $1 in
    train) echo "$BIN train --backend $2 -d nosuch:$T -o $T/o.srmodel" ;;
    forward) echo "$BIN forward --backend $2 -m $T/none.srmodel -i $T/x.npy -o $T/y.npy" ;;
    eval) echo "$BIN eval --backend $2 -m $T/none.srmodel -d nosuch:$T" ;;
    bench) echo "$BIN bench --backend $2 -m $T/none.srmodel -r 1" ;;
    *) echo "$BIN $1 --backend $2 -m $T/none.srmodel -o $T/out $T/none.png" ;;
  esac
}
for c in $cmds; do
  line=$(grep -- '--backend=' "$T/help-$c") || continue
  listed=$(names "$(echo "$line" | sed 's/.*[Bb]ackend[^:]*: //; s/ (.*//')")
  [ -n "$listed" ] || { fail "$c: no backends in '$line'"; continue; }
  for b in $listed; do
    # shellcheck disable=SC2046
    not_refused_for "unknown backend" $(backend_cmd "$c" "$b")
  done
  # shellcheck disable=SC2046
  refused "unknown backend 'nosuch'" $(backend_cmd "$c" nosuch)
  taken=$(names "$(sed -n "s/.*unknown backend 'nosuch' (available: \(.*\))/\1/p" "$T/err")")
  # The help may name vulkan in a build without it (refused as not built, not as unknown).
  extra=$(echo "$listed" | grep -vxF "$taken" | grep -vx vulkan)
  missing=$(echo "$taken" | grep -vxF "$listed")
  [ -z "$extra$missing" ] || fail "$c: help names [$(echo $listed)], the code takes [$(echo $taken)]"
done

# 3. Dataset kinds: every --dataset=SPEC help line names the kinds sr_dataset_open takes.
refused "dataset 'nosuch:$T': use" "$BIN" eval -m "$T/net.srmodel" -d "nosuch:$T"
taken=$(names "$(sed -n "s/.*dataset 'nosuch:[^']*': use \(.*\)/\1/p" "$T/err")")
refused "dataset 'nosuch:$T': use" "$BIN" train -d "nosuch:$T" -o "$T/o.srmodel"
for c in $cmds; do
  line=$(grep -- '--dataset=SPEC' "$T/help-$c") || continue
  listed=$(names "$(echo "$line" | sed 's/.*--dataset=SPEC *//')")
  [ "$listed" = "$taken" ] || fail "$c: help names [$(echo $listed)], the code takes [$(echo $taken)]"
done
for k in $taken; do
  not_refused_for "': use " "$BIN" eval -m "$T/net.srmodel" --classes 2 -d "$(echo "$k" | sed "s|DIR|$T/none|; s|IMAGES|$T/none|; s|LABELS|$T/none|")"
done
# Class tables (init, import-caffe): camvid or voc.
refused "unknown dataset 'nosuch'" "$BIN" init --dataset nosuch -o "$T/o.srmodel"
for k in camvid voc; do
  run "$BIN" init --dataset "$k" -o "$T/$k.srmodel"
  [ "$rc" -eq 0 ] || fail "init --dataset $k: rc $rc"
done

# 4. eval --upsample: the help's names are taken, others refused.
line=$(grep -- '--upsample=' "$T/help-eval")
for u in $(names "$(echo "$line" | sed 's/.*--upsample=U *//; s/ (.*//')"); do
  not_refused_for "unknown --upsample" "$BIN" eval -m "$T/none.srmodel" -d "nosuch:$T" -u "$u"
done
refused "unknown --upsample 'fancy'" "$BIN" eval -m "$T/net.srmodel" -d "nosuch:$T" -u fancy
refused "unknown --upsample 'fancy'" "$BIN" eval -m "$T/net.srmodel" -d "nosuch:$T" -u fancy --json "$T/u.json"

# 5. bench refuses an unknown backend before timing anything.
refused "unknown backend 'nosuch'" "$BIN" bench -b nosuch -r 1

# 6. infer reads what sr_image_load reads: JPEG too.
run "$BIN" infer -m "$T/net.srmodel" -t 2 -s 227 -o "$T/jpeg" "$SRC/tests/fuzz/corpus/fuzz_image/rgb-4x3.jpg"
if [ "$rc" -ne 0 ] || [ ! -s "$T/jpeg/rgb-4x3.labels.png" ]; then
  fail "infer on a JPEG: rc $rc"
else
  echo "ok   infer on a JPEG"
fi

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "help and argument checks agree with the code"
