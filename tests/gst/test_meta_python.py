"""Reads GstSrProbMeta and GstSrProposalMeta from Python through GObject
introspection (GstSegrank-1.0.typelib): runs videotestsrc ! segnetinfer !
appsink and reads EVERY field of the prob meta the typelib describes (the
pointer fields GI cannot size are opaque: reading them used to abort the
interpreter or return garbage) and every accessor: probabilities (also as
GBytes, no copy), class colours, the full-resolution label map, the image
descriptor (and that segnetinfer descriptor=false attaches none); creates a
prob meta and a proposal meta from Python, reads them back and pushes them
through appsrc ! segoverlay mode=labels ! appsink to see them drawn; then
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
    from gi.repository import GLib, Gst, GstSegrank
except (ImportError, ValueError) as e:
    print(f"skipped: {e} (needs python3-gi, gir1.2-gstreamer-1.0 and the built typelib)")
    sys.exit(77)



def read_every_field(meta, expected):
    """getattr on each field the typelib gives the meta's record (in a
    subprocess-free way: an abort here fails the test), checking the field
    names are @expected; returns {name: value}."""
    fields = [f.get_name() for f in type(meta).__info__.get_fields()]
    assert fields == expected, f"{type(meta).__name__} fields {fields}, expected {expected}"
    return {name: getattr(meta, name) for name in fields}


PROB_FIELDS = ["meta", "n_classes", "width", "height", "probs", "class_names", "class_colors", "frame_width",
               "frame_height", "region", "input_width", "input_height", "n_descriptor", "descriptor", "reused",
               "source_pts", "probs_bytes"]
PROPOSAL_FIELDS = ["meta", "source", "n_proposals", "width", "height", "n_classes", "class_names", "class_colors",
                   "labels", "scores", "energies", "unaries", "pairwises", "ranks", "areas", "n_superpixels",
                   "superpixels", "labels_bytes", "superpixels_bytes"]


def check_opaque(values, names):
    """The pointer fields GI cannot size read as opaque addresses (ints)."""
    for name in names:
        assert isinstance(values[name], int), f"field {name}: {values[name]!r} is not an opaque pointer"


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
# Every field, then every accessor.
f = read_every_field(meta, PROB_FIELDS)
check_opaque(f, ["probs", "class_colors"])
assert f["probs"] != 0 and f["class_colors"] != 0
assert (f["n_classes"], f["width"], f["height"], f["frame_width"], f["frame_height"]) == (11, 13, 13, 96, 72)
assert f["class_names"] == names, f["class_names"]
assert (f["region"].x, f["region"].y, f["region"].w, f["region"].h) == (0, 0, 96, 72)
assert (f["input_width"], f["input_height"]) == (227, 227)
assert f["n_descriptor"] == 512 and len(f["descriptor"]) == 512
assert f["reused"] is False and f["source_pts"] in (0, Gst.CLOCK_TIME_NONE), (f["reused"], f["source_pts"])
assert isinstance(f["meta"], Gst.Meta) and f["meta"].info.api == GstSegrank.prob_meta_api_get_type()
pb = meta.get_probs_bytes()
assert pb.get_size() == 4 * len(probs)
assert list(struct.unpack(f"={len(probs)}f", pb.get_data())) == list(probs), "get_probs_bytes differs from get_probs"
colors = [meta.get_class_color(k) for k in range(meta.n_classes)]
assert colors[0] == (128, 128, 128) and colors[3] == (128, 64, 128), colors  # CamVid's Sky and Road
assert meta.argmax(6, 6) < 11
label_map = meta.get_label_map().get_data()
assert len(label_map) == 96 * 72 and max(label_map) < 11
# Coarse cell (6, 6)'s centre pixel takes that cell's argmax (bilinear
# weights are all on it there).
assert label_map[int(6.5 * 72 / 13) * 96 + int(6.5 * 96 / 13)] == meta.argmax(6, 6)
print(f"label map: {len(set(label_map))} classes at 96x72; colours {colors[:2]}...")
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


# A prob meta made in Python, read back, and drawn by segoverlay: two
# classes on a 2x1 coarse map, "left" likelier on the left cell.
W, H = 8, 6
LEFT, RIGHT = (255, 0, 0), (0, 0, 255)


def overlay(buffers, extra=""):
    """Pushes @buffers (RGB W x H) through segoverlay mode=labels; returns the
    output frames' bytes."""
    pipe = Gst.parse_launch(f"appsrc name=src format=time caps=video/x-raw,format=RGB,width={W},height={H},"
                            f"framerate=1/1 ! segoverlay mode=labels {extra} ! appsink name=out")
    src, sink = pipe.get_by_name("src"), pipe.get_by_name("out")
    pipe.set_state(Gst.State.PLAYING)
    for i, b in enumerate(buffers):
        b.pts, b.duration = i * Gst.SECOND, Gst.SECOND
        assert src.emit("push-buffer", b) == Gst.FlowReturn.OK
    src.emit("end-of-stream")
    frames = []
    for _ in buffers:
        sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
        assert sample is not None, "segoverlay gave no frame"
        out = sample.get_buffer()
        frames.append(out.extract_dup(0, out.get_size()))
    pipe.set_state(Gst.State.NULL)
    return frames


def expect_drawn(frame, label_map, palette, what):
    """@frame's pixels are @palette[label] where the label is a class, black
    (the input) where it is void."""
    for i, label in enumerate(label_map):
        want = bytes(palette[label]) if label < len(palette) else bytes(3)
        assert frame[3 * i:3 * i + 3] == want, f"{what}: pixel {i % W},{i // W} is {frame[3 * i:3 * i + 3]}, " \
            f"label {label} wants {want}"


coarse = [0.9, 0.2, 0.1, 0.8]  # class-major: left's two cells, then right's
made = []
for region in (None, (2, 1, 4, 4)):
    buf = Gst.Buffer.new_wrapped(bytes(W * H * 3))
    m = GstSegrank.prob_meta_add(buf, 2, 2, 1, GLib.Bytes.new(struct.pack("=4f", *coarse)), ["left", "right"],
                                 GLib.Bytes.new(bytes(LEFT + RIGHT)), W, H)
    assert m is not None, "prob_meta_add failed"
    if region:
        assert m.set_region(*region)
        assert not m.set_region(6, 0, 4, 4), "a region past the frame's edge was accepted"
    f = read_every_field(m, PROB_FIELDS)
    check_opaque(f, ["probs", "class_colors"])
    assert (f["n_classes"], f["width"], f["height"], f["frame_width"], f["frame_height"]) == (2, 2, 1, W, H)
    assert f["class_names"] == ["left", "right"] and f["n_descriptor"] == 0 and f["descriptor"] == []
    assert (f["input_width"], f["input_height"], f["reused"]) == (0, 0, False)
    assert struct.unpack("=4f", m.get_probs_bytes().get_data()) == struct.unpack("=4f", struct.pack("=4f", *coarse))
    assert [m.get_class_color(k) for k in range(2)] == [LEFT, RIGHT]
    assert [m.argmax(0, 0), m.argmax(0, 1)] == [0, 1]
    lm = m.get_label_map().get_data()
    if region is None:
        assert lm == bytes([0] * 4 + [1] * 4) * H, list(lm)
    else:  # the region's 4 columns split 2 + 2; void (255) outside
        row = bytes([255, 255, 0, 0, 1, 1, 255, 255])
        assert lm == bytes([255] * W) + row * 4 + bytes([255] * W), list(lm)
    made.append((buf, lm))
assert GstSegrank.prob_meta_add(Gst.Buffer.new(), 2, 2, 1, GLib.Bytes.new(bytes(12)), ["a", "b"],
                                GLib.Bytes.new(bytes(6)), W, H) is None, "a probs size that does not match was accepted"
for (buf, lm), frame in zip(made, overlay([b for b, _ in made])):
    expect_drawn(frame, lm, [LEFT, RIGHT], "segoverlay of a Python prob meta")
print("prob meta made in Python: read back and drawn by segoverlay")

# A proposal meta made in Python: two proposals, one per class, halves.
buf = Gst.Buffer.new_wrapped(bytes(W * H * 3))
props = [bytes([(x >= W // 2) ^ k for y in range(H) for x in range(W)]) for k in range(2)]
pm = GstSegrank.proposal_meta_add(buf, "python", W, H, 2, ["left", "right"], GLib.Bytes.new(bytes(LEFT + RIGHT)), 2,
                                  GLib.Bytes.new(b"".join(props)))
assert pm is not None, "proposal_meta_add failed"
assert pm.set_proposal(1, 0.5, 2.0, 1.25, 0.75, 0) and pm.set_proposal(0, 1.5, 3.0, 2.0, 1.0, 1)
assert pm.set_superpixels_bytes(2, GLib.Bytes.new(struct.pack(f"={W * H}i", *[x >= 4 for y in range(H) for x in range(W)])))
assert not pm.set_superpixels_bytes(1, GLib.Bytes.new(bytes(4 * W * H + 4))), "a wrong-size superpixel map was taken"
f = read_every_field(pm, PROPOSAL_FIELDS)
check_opaque(f, ["class_colors", "labels", "areas", "superpixels"])
assert (f["source"], f["n_proposals"], f["width"], f["height"], f["n_classes"]) == ("python", 2, W, H, 2)
assert f["class_names"] == ["left", "right"] and f["scores"] == [1.5, 0.5] and f["energies"] == [3.0, 2.0]
assert f["unaries"] == [2.0, 1.25] and f["pairwises"] == [1.0, 0.75] and f["ranks"] == [1, 0]
assert f["n_superpixels"] == 2
assert [pm.get_labels_bytes(k).get_data() for k in range(2)] == props
assert [bytes(pm.get_labels(k)) for k in range(2)] == props
assert pm.get_areas(0) == [0.5, 0.5] and pm.find_rank(0) == 1 and pm.get_class_color(1) == RIGHT
sp = pm.get_superpixels_bytes().get_data()
assert list(struct.unpack(f"={W * H}i", sp)) == list(pm.get_superpixels())
frame, = overlay([buf], "proposal-index=1")
expect_drawn(frame, props[1], [LEFT, RIGHT], "segoverlay of a Python proposal meta")
print("proposal meta made in Python: read back and drawn by segoverlay")


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
    f = read_every_field(meta, PROPOSAL_FIELDS)
    check_opaque(f, ["class_colors", "labels", "areas", "superpixels"])
    assert f["superpixels"] == 0 and f["n_superpixels"] == 0 and f["ranks"] == [1, 0]
    assert f["scores"] == [3.5, -0.25] and f["class_names"][3] == "Road"
    assert meta.get_superpixels_bytes() is None
    assert [meta.get_labels_bytes(k).get_data() for k in range(2)] == [bytes(v) for v in maps]
    assert meta.get_class_color(3) == (128, 64, 128)
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
    f = read_every_field(meta, PROPOSAL_FIELDS)
    check_opaque(f, ["class_colors", "labels", "areas", "superpixels"])
    assert f["superpixels"] != 0 and f["source"] == "divmbest" and len(f["energies"]) == meta.n_proposals
    assert list(struct.unpack(f"={64 * 48}i", meta.get_superpixels_bytes().get_data())) == list(sp)
    energies = [GstSegrank.ProposalMeta.get_energy(meta, k) for k in range(meta.n_proposals)]
    assert GstSegrank.ProposalMeta.get_rank(meta, 0) == 0 and energies[0] == min(energies), energies
    print(f"divmbest: {meta.n_proposals} proposals on {meta.n_superpixels} superpixels, energies {energies}")
    pipe.set_state(Gst.State.NULL)
else:
    print("divmbest part skipped: SEGRANK_UNARY_MODEL is not set")
print("ok")
