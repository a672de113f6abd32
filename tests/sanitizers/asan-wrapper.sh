#!/bin/sh
# asan-wrapper.sh: `meson test --wrapper` for the whole-suite ASan+UBSan run
# (.ci/run). Our programs are instrumented and bring the ASan runtime
# themselves; uninstrumented programs that load our instrumented libraries
# need it loaded first (LD_PRELOAD), but only those: preloaded into every
# process of a shell test, LeakSanitizer fails coreutils (mktemp leaks its
# template and exits 1, with stderr already closed, so silently).
#  - python3 (the meta tests load our plugin and meta library): preloaded;
#  - gst-launch-1.0 (tests/pipelines.sh): a shim first in PATH preloads it;
#  - gst-plugin-scanner (GStreamer's, spawned to read our plugin): a shim
#    preloads it, with leak checking off: it loads every plugin of the
#    system and exits without unloading them (ASan's other checks stay on).
here=$(cd "$(dirname "$0")" && pwd)
SR_ASAN_RUNTIME=$(${CC:-gcc} -print-file-name=libasan.so)
SR_GST_LAUNCH=$(command -v gst-launch-1.0 || true)
SR_GST_PLUGIN_SCANNER=$(pkg-config --variable=pluginscannerdir gstreamer-1.0 2>/dev/null)/gst-plugin-scanner
export SR_ASAN_RUNTIME SR_GST_LAUNCH SR_GST_PLUGIN_SCANNER
export GST_PLUGIN_SCANNER_1_0="$here/asan-bin/gst-plugin-scanner"
export PATH="$here/asan-bin:$PATH"
# Leak stacks need the slow unwinder (LSAN_OPTIONS=fast_unwind_on_malloc=0:
# the distribution's libraries have no frame pointers), but it deadlocks
# once lavapipe has JIT-compiled a shader: LLVM registers the code's unwind
# tables, libgcc's unwinder then mallocs under its own lock, and ASan's
# malloc unwinds again. The tests that run shaders on lavapipe unwind by
# frame pointers (our code has them): test_ops, and test_segnetinfer's
# Vulkan case, run apart from its other cases. Their Mesa frames then stop
# at the driver's first frame, which would read "<unknown module>" once the
# loader has unloaded it: the driver is preloaded, so that it stays loaded
# and lsan.supp can name it.
icd=$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "${VK_DRIVER_FILES:-/nonexistent}" 2>/dev/null || true)
fast_unwind() {
  LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}fast_unwind_on_malloc=1" \
    LD_PRELOAD="$SR_ASAN_RUNTIME${icd:+ $icd}${LD_PRELOAD:+ $LD_PRELOAD}" "$@"
}
case "$(basename "$1")" in
python3*) export LD_PRELOAD="$SR_ASAN_RUNTIME${LD_PRELOAD:+ $LD_PRELOAD}" ;;
test_ops) fast_unwind "$@"; exit ;;
test_segnetinfer)
  GST_CHECKS_IGNORE=test_vulkan_backend "$@" || exit
  GST_CHECKS=test_vulkan_backend fast_unwind "$@"
  exit
  ;;
esac
exec "$@"
