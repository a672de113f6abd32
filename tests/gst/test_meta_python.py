"""Reads GstSrProbMeta and GstSrProposalMeta from Python through GObject
introspection (GstSegrank-1.0.typelib): runs videotestsrc ! segnetinfer !
appsink and checks the prob meta's fields, probabilities and image descriptor (and that
segnetinfer descriptor=false attaches none), then
videotestsrc ! proposalload ! appsink on a proposal folder written here and
checks the proposal meta's label maps, scores and ranks; with
SEGRANK_UNARY_MODEL set, also videotestsrc ! divmbest ! appsink. Skips (77)
without python3-gi or the GStreamer typelibs."""
import json
import math
import os
import shutil
import struct
import sys
import tempfile
import zlib

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstSegrank", "1.0")
    from gi.repository import Gst, GstSegrank
except (ImportError, ValueError) as e:
    print(f"skipped: {e} (needs python3-gi, gir1.2-gstreamer-1.0 and the built typelib)")
    sys.exit(77)

Gst.init(None)
pipe = Gst.parse_launch(
    "videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=96,height=72 ! segnetinfer ! appsink name=out")
sink = pipe.get_by_name("out")
pipe.set_state(Gst.State.PLAYING)
sample = sink.emit("pull-sample")
assert sample is not None, "no sample"
buf = sample.get_buffer()
meta = GstSegrank.prob_meta_get(buf)
assert meta is not None, "no GstSrProbMeta on the buffer"
print(f"meta: {meta.n_classes} classes, map {meta.width}x{meta.height}, frame {meta.frame_width}x{meta.frame_height}")
assert (meta.n_classes, meta.width, meta.height) == (11, 13, 13)
assert (meta.frame_width, meta.frame_height) == (96, 72)
probs = GstSegrank.ProbMeta.get_probs(meta)
assert len(probs) == 11 * 13 * 13, len(probs)
plane = 13 * 13
for cell in (0, 84, 168):
    s = sum(probs[k * plane + cell] for k in range(11))
    assert abs(s - 1) < 1e-4, (cell, s)
names = [GstSegrank.ProbMeta.get_class_name(meta, k) for k in range(meta.n_classes)]
assert names[3] == "Road", names
print("class names:", ", ".join(names))
# The image descriptor: conv5 mean then max per channel, 2 x 256 floats.
desc = GstSegrank.ProbMeta.get_descriptor(meta)
assert meta.n_descriptor == 512 and len(desc) == 512, (meta.n_descriptor, len(desc))
assert all(0 <= desc[c] <= desc[256 + c] for c in range(256)), "a channel's mean exceeds its max"
print(f"descriptor: {len(desc)} values, mean of means {sum(desc[:256]) / 256:.4g}")
pipe.set_state(Gst.State.NULL)
pipe = Gst.parse_launch("videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=96,height=72 ! "
                        "segnetinfer descriptor=false ! appsink name=out")
pipe.set_state(Gst.State.PLAYING)
meta = GstSegrank.prob_meta_get(pipe.get_by_name("out").emit("pull-sample").get_buffer())
assert meta.n_descriptor == 0 and not GstSegrank.ProbMeta.get_descriptor(meta), "descriptor=false attached one"
pipe.set_state(Gst.State.NULL)


def write_grey_png(path, width, height, values):
    """An 8-bit greyscale PNG of @values (row-major), without any imaging library."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\0" + bytes(values[y * width:(y + 1) * width]) for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def first_sample(description):
    pipe = Gst.parse_launch(description + " ! appsink name=out")
    pipe.set_state(Gst.State.PLAYING)
    sample = pipe.get_by_name("out").emit("try-pull-sample", 60 * Gst.SECOND)
    if sample is None:
        msg = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
        raise AssertionError(f"{description}: no sample" + (f": {msg.parse_error()}" if msg else ""))
    return pipe, sample.get_buffer()


def check_proposal_meta(meta, source, n, width, height):
    assert meta is not None, f"no GstSrProposalMeta from {source}"
    assert meta.source == source, meta.source
    assert (meta.n_proposals, meta.width, meta.height) == (n, width, height), \
        (meta.n_proposals, meta.width, meta.height)
    for k in range(n):
        labels = GstSegrank.ProposalMeta.get_labels(meta, k)
        assert len(labels) == width * height, len(labels)
        assert max(labels) < meta.n_classes
        areas = GstSegrank.ProposalMeta.get_areas(meta, k)
        assert len(areas) == meta.n_classes and abs(sum(areas) - 1) < 1e-9, areas


# proposalload: two proposals for one 24x16 frame, with scores.json.
W, H = 24, 16
maps = [[(x // 3 + y // 2) % 11 for y in range(H) for x in range(W)],
        [(x * y) % 7 for y in range(H) for x in range(W)]]
tmp = tempfile.mkdtemp(prefix="segrank-meta-python-")
try:
    frame_dir = os.path.join(tmp, "frame0")
    os.mkdir(frame_dir)
    for k, values in enumerate(maps):
        write_grey_png(os.path.join(frame_dir, f"{k:02d}.png"), W, H, values)
    with open(os.path.join(frame_dir, "scores.json"), "w") as f:
        json.dump({"classes": 11, "proposals": [
            {"file": "00.png", "rank": 1, "score": 3.5, "energy": 12.0, "unary": 8.0, "pairwise": 4.0},
            {"file": "01.png", "rank": 0, "score": -0.25}]}, f)
    pipe, buf = first_sample(f"videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width={W},height={H} ! "
                             f"proposalload location={tmp}")
    meta = GstSegrank.proposal_meta_get(buf)
    check_proposal_meta(meta, "proposalload", 2, W, H)
    for k, values in enumerate(maps):
        assert list(GstSegrank.ProposalMeta.get_labels(meta, k)) == values, f"proposal {k} differs from its PNG"
    scores = [GstSegrank.ProposalMeta.get_score(meta, k) for k in range(2)]
    assert scores == [3.5, -0.25], scores
    assert GstSegrank.ProposalMeta.get_energy(meta, 0) == 12.0
    assert GstSegrank.ProposalMeta.get_pairwise(meta, 0) == 4.0
    assert math.isnan(GstSegrank.ProposalMeta.get_energy(meta, 1))
    assert [GstSegrank.ProposalMeta.get_rank(meta, k) for k in range(2)] == [1, 0]
    assert GstSegrank.ProposalMeta.find_rank(meta, 0) == 1
    assert GstSegrank.ProposalMeta.get_class_name(meta, 3) == "Road"
    assert not GstSegrank.ProposalMeta.get_superpixels(meta), "no superpixel map expected"
    print(f"proposalload: {meta.n_proposals} proposals {meta.width}x{meta.height}, scores {scores}")
    pipe.set_state(Gst.State.NULL)
finally:
    shutil.rmtree(tmp)

# divmbest, when a unary model is available.
if os.environ.get("SEGRANK_UNARY_MODEL"):
    pipe, buf = first_sample("videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format=RGB,width=64,height=48 ! "
                             "divmbest num-solutions=3 superpixels=60")
    meta = GstSegrank.proposal_meta_get(buf)
    assert meta is not None and meta.n_proposals >= 1, "divmbest attached no proposals"
    check_proposal_meta(meta, "divmbest", meta.n_proposals, 64, 48)
    sp = GstSegrank.ProposalMeta.get_superpixels(meta)
    assert sp is not None and len(sp) == 64 * 48 and max(sp) == meta.n_superpixels - 1
    energies = [GstSegrank.ProposalMeta.get_energy(meta, k) for k in range(meta.n_proposals)]
    assert GstSegrank.ProposalMeta.get_rank(meta, 0) == 0 and energies[0] == min(energies), energies
    print(f"divmbest: {meta.n_proposals} proposals on {meta.n_superpixels} superpixels, energies {energies}")
    pipe.set_state(Gst.State.NULL)
else:
    print("divmbest part skipped: SEGRANK_UNARY_MODEL is not set")
print("ok")
