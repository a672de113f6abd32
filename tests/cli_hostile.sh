#!/bin/sh
# cli_hostile.sh: the `segrank` command on hostile input (issue 13): deeply
# nested JSON headers, endless or blocking files (/dev/zero, a FIFO), a bogus
# `eval --upsample` (and `-u all` scoring each mode as a run of it alone),
# class names that need JSON escaping, and a model whose
# weights are not finite, `train --freeze` without `--init`, and a resume
# with other settings than its checkpoint's. Every case must end with a
# clear message naming the file (or option) and a non-zero status, never a
# signal or a hang.
# Usage: SEGRANK_BIN=… cli_hostile.sh (python3 crafts the files).
set -u
BIN=${SEGRANK_BIN:?SEGRANK_BIN must name the segrank binary}
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

# expect_fail NEEDLE CMD...: CMD must exit 1..127 within 60 s (no signal, no
# hang) and print NEEDLE on stderr.
expect_fail() {
  needle=$1
  shift
  timeout 60 "$@" >"$T/out" 2>"$T/err"
  rc=$?
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ]; then
    echo "FAIL (rc $rc): $*"
    sed 's/^/  | /' "$T/err" | tail -5
    fails=$((fails + 1))
  elif ! grep -qF -- "$needle" "$T/err"; then
    echo "FAIL (message lacks '$needle'): $*"
    sed 's/^/  | /' "$T/err" | tail -5
    fails=$((fails + 1))
  else
    echo "ok   rc $rc: $* -> $(head -1 "$T/err")"
  fi
}

# A 2-class net and a 96x96 two-image folder dataset (labels 0/1).
"$BIN" init --classes 2 -o "$T/net.srmodel" >/dev/null || { echo "init failed"; exit 1; }
python3 - "$T" <<'PY'
import json, os, struct, sys, zlib
t = sys.argv[1]

def png(path, w, h, channels, pixel):
    rows = b"".join(b"\0" + bytes(v for x in range(w) for v in pixel(x, y)) for y in range(h))
    chunk = lambda k, d: struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
    ct = 2 if channels == 3 else 0
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ct, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

for d in ("img", "lab"):
    os.makedirs(os.path.join(t, d), exist_ok=True)
for i in range(2):
    png(f"{t}/img/{i}.png", 96, 96, 3, lambda x, y: (200 if x < 48 else 30, 90, 40 + i * 50))
    png(f"{t}/lab/{i}.png", 96, 96, 1, lambda x, y: (0 if x < 48 else 1,))

def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]

def write(path, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)

# 100000 nested arrays as the whole header, and inside the metadata string.
deep = b"[" * 100000 + b"]" * 100000
open(f"{t}/deep.srmodel", "wb").write(struct.pack("<Q", len(deep)) + deep)
header, data = read(f"{t}/net.srmodel")
good_meta = header["__metadata__"]["segrank"]
header["__metadata__"]["segrank"] = "[" * 100000 + "]" * 100000
write(f"{t}/deep-meta.srmodel", header, data)
# Class names that need escaping in JSON.
meta = json.loads(good_meta)
meta["classes"][0]["name"] = 'say "hi"'
meta["classes"][1]["name"] = "back\\slash"
header["__metadata__"]["segrank"] = json.dumps(meta)
write(f"{t}/quoted.srmodel", header, data)
# A net whose last layer is not the softmax: its outputs are logits.
meta = json.loads(good_meta)
assert meta["layers"][-1]["type"] == "softmax"
meta["layers"].pop()
header["__metadata__"]["segrank"] = json.dumps(meta)
write(f"{t}/nosoftmax.srmodel", header, data)
PY
[ -s "$T/deep.srmodel" ] || { echo "could not craft the files"; exit 1; }
DS="folder:$T/img,$T/lab"

# 1. Nesting depth is bounded before json-glib recurses.
expect_fail "nests arrays or objects deeper" "$BIN" info "$T/deep.srmodel"
expect_fail "$T/deep.srmodel" "$BIN" info "$T/deep.srmodel"
expect_fail "nests arrays or objects deeper" "$BIN" info "$T/deep-meta.srmodel"
expect_fail "nests arrays or objects deeper" "$BIN" infer -m "$T/deep.srmodel" -o "$T" "$T/img/0.png"

# 2. Only regular files are read: no endless read, no blocking open.
expect_fail "/dev/zero: not a regular file" "$BIN" info /dev/zero
mkfifo "$T/fifo"
expect_fail "$T/fifo: not a regular file" "$BIN" info "$T/fifo"
expect_fail "not a regular file" "$BIN" info "$T"

# 3. eval: a bogus --upsample is refused; names needing escapes give valid JSON.
expect_fail "--upsample" "$BIN" eval -m "$T/net.srmodel" -d "$DS" --classes 2 -s 96x96 --upsample bogus --json "$T/x.json"
expect_fail "--upsample" "$BIN" eval -m "$T/net.srmodel" -d "$DS" --classes 2 -s 96x96 --upsample bogus
if timeout 120 "$BIN" eval -m "$T/quoted.srmodel" -d "$DS" --classes 2 -s 96x96 -u naive --json "$T/q.json" \
     >"$T/out" 2>"$T/err" &&
   python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert set(d["per_class"]) == {"say \"hi\"", "back\\slash"}, d; assert d["upsample"] == "naive" and "naive" in d and d["images"] == 2, d' "$T/q.json"; then
  echo "ok   eval --json with quoted class names"
else
  echo "FAIL: eval --json with quoted class names (rc $?)"
  tail -5 "$T/err"
  fails=$((fails + 1))
fi

# 3b. eval -u all runs the net once per image and scores every upsampling from
# that output: each mode's scores equal a run of that mode alone, the top level
# repeats the first (naive).
all_ok=1
for u in all naive bilinear superpixel; do
  timeout 120 "$BIN" eval -m "$T/net.srmodel" -d "$DS" --classes 2 -s 96x96 -t 1 -u $u --json "$T/u-$u.json" \
    >"$T/out" 2>"$T/err-$u" || all_ok=0
done
if [ $all_ok = 1 ] && grep -q "one forward pass each" "$T/err-all" &&
   python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
a = json.load(open(f"{t}/u-all.json"))
for u in ("naive", "bilinear", "superpixel"):
    alone = json.load(open(f"{t}/u-{u}.json"))
    assert a[u] == alone[u], (u, a[u], alone[u])
assert a["upsample"] == "naive" and a["miou"] == a["naive"]["miou"] and a["per_class"] == a["naive"]["per_class"], a
PY
then
  echo "ok   eval -u all: one pass per image, each mode equal to its run alone"
else
  echo "FAIL: eval -u all differs from the modes run alone"
  tail -5 "$T/err-all"
  fails=$((fails + 1))
fi

# 9. A net without its final softmax is refused at load.
expect_fail "softmax" "$BIN" info "$T/nosoftmax.srmodel"

# 10. train: --freeze without --init would freeze a random trunk; a resume
# with another setting than the checkpoint's is refused, naming both.
expect_fail "--init" "$BIN" train -d "$DS" --classes 2 --no-val --freeze 5 -o "$T/frozen.srmodel"
if timeout 120 "$BIN" train -d "$DS" --classes 2 --no-val --epochs 1 --batch 2 --crop 96x96 -t 1 \
     -o "$T/r.srmodel" >"$T/out" 2>"$T/err"; then
  expect_fail "$T/r.srmodel.ckpt: checkpoint was made with --lr 0.01, this run has 0.02" \
    "$BIN" train -d "$DS" --classes 2 --no-val --epochs 1 --batch 2 --crop 96x96 -t 1 --lr 0.02 --resume -o "$T/r.srmodel"
  expect_fail "--loss ce, this run has --loss uoi+ce" \
    "$BIN" train -d "$DS" --classes 2 --no-val --epochs 1 --batch 2 --crop 96x96 -t 1 -l uoi+ce --resume -o "$T/r.srmodel"
else
  echo "FAIL: a one-iteration training run (rc $?)"
  tail -5 "$T/err"
  fails=$((fails + 1))
fi

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "all hostile-input cases handled"
