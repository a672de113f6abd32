#!/usr/bin/env python3
"""make-manpage.py: writes segrank(1) from the CLI's own help texts, so the
man page always matches the binary: `segrank --help` gives the command
list, `segrank COMMAND --help` each command's usage and options.

Usage: make-manpage.py SEGRANK_BINARY VERSION OUT.1
"""
import os
import re
import subprocess
import sys


def roff(text):
    """Escapes text for roff: backslashes, leading dots and quotes, dashes."""
    out = []
    for line in text.splitlines():
        line = line.replace("\\", "\\e").replace("-", "\\-")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def help_of(binary, *args):
    r = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"make-manpage: {binary} {' '.join(args)} --help failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def commands(top):
    """(name, summary) for each line of the command list of `segrank --help`."""
    cmds, in_list = [], False
    for line in top.splitlines():
        m = re.match(r"^  ([a-z][a-z-]*)\s{2,}(.*)$", line)
        if m:
            cmds.append((m.group(1), m.group(2).strip()))
            in_list = True
        elif in_list and line.strip() and not line.startswith("  "):
            in_list = False
    return cmds


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    binary, version, out = sys.argv[1:]
    top = help_of(binary)
    cmds = commands(top)
    if not cmds:
        sys.exit("make-manpage: no commands found in `segrank --help`")
    page = [
        f'.TH SEGRANK 1 "" "segrank {version}" "User Commands"',
        ".SH NAME",
        "segrank \\- SegNet training, CRF proposals and re-ranking for semantic segmentation",
        ".SH SYNOPSIS",
        ".B segrank",
        ".I COMMAND",
        "[\\fIOPTION\\fR...]",
        ".SH DESCRIPTION",
        roff("segrank implements Cogswell, Lin, Purushwalkam and Batra, Combining the Best of "
             "Graphical Models and ConvNets for Semantic Segmentation (2014): a small ConvNet "
             "(SegNet) predicts a coarse class distribution, a CRF solved with DivMBest proposes "
             "diverse segmentations and the net re-ranks them. The GStreamer elements of the same "
             "package (gst-inspect-1.0 segrank) run the chain on video."),
        ".SH COMMANDS",
    ]
    for name, summary in cmds:
        page += [".TP", f".B {name}", roff(summary)]
    for name, _ in cmds:
        page += [f".SS segrank {name}", ".nf", roff(help_of(binary, name).rstrip()), ".fi"]
    page += [
        ".SH ENVIRONMENT",
        ".TP", ".B SEGRANK_MODEL, SEGRANK_UNARY_MODEL, SEGRANK_RANKER",
        roff("Files used instead of the shipped net, unary model and ranker."),
        ".TP", ".B SEGRANK_CPU_ISA",
        roff("avx512, avx2 or generic: the CPU backend's instruction-set variant (default: the best the CPU has)."),
        ".TP", ".B SEGRANK_CPU_GEMM",
        roff("openblas: every GEMM of the CPU backend through OpenBLAS (the earlier approach, for comparisons)."),
        ".TP", ".B SEGRANK_CPU_ISA_CAP",
        roff("avx2 or generic: treat the levels above it as missing (tests, measurements)."),
        ".SH FILES",
        ".TP", ".I /usr/share/segrank/models",
        roff("The shipped models: default.srmodel, camvid-unary.srunary, camvid.srranker."),
        ".SH SEE ALSO",
        "gst\\-inspect\\-1.0(1): segnetinfer, divmbest, proposalload, proposalscore, svmrerank, segoverlay.",
    ]
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(page) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
