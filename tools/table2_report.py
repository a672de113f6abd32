#!/usr/bin/env python3
"""table2_report.py OUT M: Table 2 (CamVid val) as markdown from the JSON
that tools/table2.sh's steps wrote into OUT."""
import json
import os
import sys


def load(out, name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


def main():
    out, m = sys.argv[1], sys.argv[2]
    rows = []
    nets = [("ce", "CE"), ("uoi", "UOI (shipped)"), ("uoice", "UOI+CE")]
    nets = [(t, l) for t, l in nets if os.path.exists(os.path.join(out, "kl-%s.json" % t))]
    for tag, label in nets:
        ev = load(out, "eval-%s.json" % tag)
        for up in ("naive", "superpixel", "bilinear"):
            if up in ev:
                rows.append(("net %s, %s upsampling" % (label, up), ev[up]["miou"], None))
    kl = {tag: load(out, "kl-%s.json" % tag) for tag, _ in nets}
    uoi = kl["uoi"]
    rows.append(("CRF MAP (DivMBest rank 0)", uoi["map"], None))
    for tag, label in nets:
        for at in sorted(kl[tag]["at"], key=int):
            if at in ("10", m):
                a = kl[tag]["at"][at]
                rows.append(("eq. 17 KL re-ranking, %s net, M = %s" % (label, at), a["eq17"], a["headroom_pct"]))
    svm = load(out, "svm.json")
    names = {"segnet,cls,source": "all features", "segnet": "SegNet group alone", "cls": "classification alone",
             "source": "source alone", "segnet,cls": "SegNet + classification",
             "segnet,source": "SegNet + source", "cls,source": "classification + source"}
    for r in svm["rankers"]:
        rows.append(("ranking SVM (UOI net), %s, M = %s" % (names.get(r["groups"], r["groups"]), m), r["miou"],
                     r["headroom_pct"]))
    for at in sorted(uoi["at"], key=int):
        if at in ("10", m):
            rows.append(("oracle, M = %s" % at, uoi["at"][at]["oracle"], 100.0))
    print("| row | mIoU (val) | MAP-to-oracle headroom taken |")
    print("| --- | ---: | ---: |")
    for label, v, hr in rows:
        print("| %s | %.2f | %s |" % (label, v, "" if hr is None else "%.1f%%" % hr))


if __name__ == "__main__":
    main()
