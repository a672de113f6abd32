"""The uninstalled GstSegrank typelib (tests/examples/meson.build) works
with GI_TYPELIB_PATH alone: without LD_LIBRARY_PATH, and before any segrank
plugin has loaded libgstsegrankmeta-1.0 into the process (once a plugin has,
the dynamic loader matches the soname to the loaded copy, which would hide a
typelib that cannot find the library). argv[1]: the build tree's gst folder.
Skips (77) without python3-gi or the GStreamer typelibs."""
import os
import sys

BUILD_GST = os.path.realpath(sys.argv[1])
# LD_LIBRARY_PATH is read when the process starts: run again without it.
if os.environ.get("LD_LIBRARY_PATH"):
    env = dict(os.environ)
    del env["LD_LIBRARY_PATH"]
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstSegrank", "1.0")
    from gi.repository import GLib, Gst, GstSegrank
except (ImportError, ValueError) as e:
    print(f"skipped: {e} (needs python3-gi, gir1.2-gstreamer-1.0 and the built typelib)")
    sys.exit(77)


def mapped_meta_libs():
    """The files of libgstsegrankmeta-1.0 mapped into this process."""
    with open("/proc/self/maps") as f:
        return {line.split(None, 5)[5].strip() for line in f
                if len(line.split(None, 5)) == 6 and "libgstsegrankmeta-1.0" in line}


Gst.init(None)
assert not mapped_meta_libs(), f"the meta library is loaded before any GstSegrank call: {mapped_meta_libs()}"
# The first call into the library: the typelib must find it by itself.
buf = Gst.Buffer.new()
names = ["a", "b"]
meta = GstSegrank.prob_meta_add(buf, 2, 1, 1, GLib.Bytes.new(bytes(8)), names, GLib.Bytes.new(bytes(6)), 4, 4)
assert meta is not None and meta.n_classes == 2, "prob_meta_add failed"
libs = mapped_meta_libs()
assert libs and all(os.path.dirname(os.path.realpath(p)) == BUILD_GST for p in libs), \
    f"the meta library was loaded from {libs}, not from {BUILD_GST}"
print(f"libgstsegrankmeta loaded from {sorted(libs)} without LD_LIBRARY_PATH")
# Then a plugin that links the same library: one copy, the registered meta
# types shared (a second copy would register GstSrProbMetaAPI twice).
pipe = Gst.parse_launch("videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=32,height=24 ! segnetinfer "
                        "! appsink name=out")
pipe.set_state(Gst.State.PLAYING)
sample = pipe.get_by_name("out").emit("try-pull-sample", 60 * Gst.SECOND)
assert sample is not None, "segnetinfer produced nothing"
assert GstSegrank.prob_meta_get(sample.get_buffer()) is not None, "the plugin's meta is not the typelib's meta type"
pipe.set_state(Gst.State.NULL)
inodes = {os.stat(p).st_ino for p in mapped_meta_libs()}
assert len(inodes) == 1, f"two copies of the meta library: {mapped_meta_libs()}"
print("ok")
