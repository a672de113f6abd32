#!/usr/bin/env python3
"""merge_proposals.py: one proposal folder per image from several (a widened
pool): OUT/<image>/ holds every input folder's proposals, in the order the
folders are given, as symbolic links p<set>_<file>, with a scores.json that
lists them (ranks renumbered 0..n-1 in that order, so rank 0 is the first
folder's MAP; the source's score/energy/unary/pairwise are kept as each
folder wrote them). Only images present in every folder are merged. The
layout is what `segrank rerank --proposals` and `proposalload` read.

  tools/merge_proposals.py OUT DIR1[:N] DIR2[:N] ...   (:N keeps a folder's first N)
"""
import json
import os
import sys


def entries(folder):
    """The proposal files of one image's folder in rank order, with their scores.json entries."""
    path = os.path.join(folder, "scores.json")
    if os.path.exists(path):
        with open(path) as f:
            listed = json.load(f).get("proposals", [])
        if listed and all("file" in e for e in listed):
            return sorted(listed, key=lambda e: e.get("rank", 0))
    pngs = sorted(p for p in os.listdir(folder) if p.endswith(".png"))
    return [{"file": p, "rank": i} for i, p in enumerate(pngs)]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, dirs, keep = sys.argv[1], [], []
    for a in sys.argv[2:]:
        d, _, n = a.rpartition(":") if ":" in a else (a, "", "")
        dirs.append(d)
        keep.append(int(n) if n else None)
    names = set(os.listdir(dirs[0]))
    for d in dirs[1:]:
        names &= set(os.listdir(d))
    names = sorted(n for n in names if os.path.isdir(os.path.join(dirs[0], n)))
    if not names:
        sys.exit("merge_proposals.py: no image folder is in all of " + ", ".join(dirs))
    classes = None
    for name in names:
        dst = os.path.join(out, name)
        os.makedirs(dst, exist_ok=True)
        merged = []
        for s, d in enumerate(dirs):
            src = os.path.join(d, name)
            sj = os.path.join(src, "scores.json")
            if classes is None and os.path.exists(sj):
                with open(sj) as f:
                    classes = json.load(f).get("classes")
            for e in entries(src)[:keep[s]]:
                link = "p%d_%s" % (s, e["file"])
                target = os.path.abspath(os.path.join(src, e["file"]))
                lp = os.path.join(dst, link)
                if os.path.lexists(lp):
                    os.remove(lp)
                os.symlink(target, lp)
                item = {k: e[k] for k in ("score", "energy", "unary", "pairwise") if k in e}
                item["rank"] = len(merged)
                item["file"] = link
                merged.append(item)
        doc = {"proposals": merged}
        if classes is not None:
            doc["classes"] = classes
        tmp = os.path.join(dst, "scores.json.tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, os.path.join(dst, "scores.json"))
    print("merged %d images, %d folders, %d proposals for %s" % (len(names), len(dirs), len(merged), names[-1]))


if __name__ == "__main__":
    main()
