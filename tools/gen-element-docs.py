#!/usr/bin/python3
"""gen-element-docs.py: writes docs/elements.md, the reference of the
segrank plugin's elements, from the plugin itself: each element's metadata,
pads and the properties it declares (type, range or values, default, flags,
description) through GObject introspection, and its documentation block
(the SECTION:element-NAME comment of gst/gstNAME.c, example launch lines
included). tests/docs_check.py checks that the page and the plugin agree.

Usage: GST_PLUGIN_PATH=build/gst tools/gen-element-docs.py [OUT.md]
       (default docs/elements.md; `ninja -C build element-docs` does this)
"""
import os
import re
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GObject, Gst  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER = ["segnetinfer", "divmbest", "proposalload", "proposalscore", "svmrerank", "segoverlay"]


def doc_block(name):
    """The element's SECTION comment as Markdown, or None."""
    path = os.path.join(SRC, "gst", "gst" + name + ".c")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"/\*\*\n \* SECTION:element-" + re.escape(name) + r"\n(.*?)\n \*/", text, re.S)
    if not m:
        return None
    lines = []
    for line in m.group(1).splitlines():
        line = re.sub(r"^ \*( |$)", "", line)
        if line.startswith("@title:"):
            continue
        if line.strip() == "|[":
            line = "```sh"
        elif line.strip() == "]|":
            line = "```"
        lines.append(line)
    return "\n".join(lines).strip()


def own_properties(element):
    """The properties @element's own class declares (not inherited)."""
    t = type(element).__gtype__
    return [p for p in GObject.list_properties(element) if p.owner_type == t]


def type_text(p):
    vt = p.value_type
    if vt.is_a(GObject.TYPE_ENUM):
        values = type(p.default_value).__enum_values__
        nicks = ", ".join("`%s`" % v.value_nick for _, v in sorted(values.items()))
        return "enum %s: %s" % (vt.name, nicks)
    if vt.name in ("gint", "guint", "gint64", "guint64", "gdouble", "gfloat"):
        return "%s, %s … %s" % (vt.name, fmt(p.minimum), fmt(p.maximum))
    return vt.name


def fmt(v):
    if isinstance(v, float):
        if v in (float("inf"), -float("inf")) or abs(v) > 1e300:
            return ("−" if v < 0 else "") + "max"
        return ("%g" % v)
    if isinstance(v, int) and abs(v) >= 2**31 - 1:
        return ("−" if v < 0 else "") + "max"
    return str(v)


def default_text(p):
    d = p.default_value
    if p.value_type.is_a(GObject.TYPE_ENUM):
        return "`%s`" % d.value_nick if hasattr(d, "value_nick") else "`%s`" % d
    if d is None:
        return "(none)"
    if isinstance(d, bool):
        return "`%s`" % str(d).lower()
    return "`%s`" % fmt(d)


def blurb(p):
    """The property's description, without what only this machine shows
    (segnetinfer names the model file it found)."""
    text = re.sub(r" ?\(here: [^)]*\)", " (gst-inspect-1.0 shows which)", p.blurb)
    text = re.sub(r"cpu-isa: [a-z0-9]+ \(", "cpu-isa (this machine's, in gst-inspect-1.0: ", text)
    return text.replace("|", "\\|")


def flags_text(p):
    f = []
    if p.flags & GObject.ParamFlags.READABLE:
        f.append("read")
    if p.flags & GObject.ParamFlags.WRITABLE:
        f.append("write")
    if p.flags & Gst.PARAM_CONTROLLABLE:
        f.append("controllable")
    if p.flags & Gst.PARAM_MUTABLE_PLAYING:
        f.append("changeable in PLAYING")
    elif p.flags & Gst.PARAM_MUTABLE_PAUSED:
        f.append("changeable in PAUSED")
    elif p.flags & GObject.ParamFlags.WRITABLE:
        f.append("set before start")
    return ", ".join(f)


def caps_text(templ):
    """The media types of a pad template, each with its formats."""
    parts = []
    for struct in templ.get_caps().to_string().split(";"):
        struct = struct.strip()
        if not struct:
            continue
        name = struct.split(",")[0].strip()
        m = re.search(r"format=\(string\)(\{[^}]*\}|[A-Za-z0-9_]+)", struct)
        formats = m.group(1).strip("{} ").replace(",", "").split() if m else []
        parts.append("%s (%s)" % (name, " ".join(formats)) if formats else name)
    return "; ".join(parts)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "docs", "elements.md")
    Gst.init(None)
    plugin = Gst.Registry.get().find_plugin("segrank")
    if plugin is None:
        sys.exit("gen-element-docs: plugin segrank not found (set GST_PLUGIN_PATH=build/gst)")
    names = [f.get_name() for f in Gst.Registry.get().get_feature_list_by_plugin("segrank")
             if isinstance(f, Gst.ElementFactory)]
    names = [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)
    page = ["# Elements of the segrank plugin",
            "",
            "Written by `tools/gen-element-docs.py` from plugin %s (`ninja -C build element-docs`); "
            "`tests/docs_check.py` fails when this page and the plugin disagree. "
            "`gst-inspect-1.0 NAME` shows the same properties." % plugin.get_version(),
            ""]
    for name in names:
        fac = Gst.ElementFactory.find(name)
        el = fac.create(None)
        page += ["## %s" % name, "",
                 "**%s** (%s): %s" % (fac.get_metadata("long-name"), fac.get_metadata("klass"),
                                      fac.get_metadata("description")), ""]
        for templ in fac.get_static_pad_templates():
            t = templ.get()
            page.append("- pad `%s` (%s, %s): %s" % (t.name_template, t.direction.value_nick,
                                                       t.presence.value_nick, caps_text(t)))
        page.append("")
        block = doc_block(name)
        if block:
            page += [re.sub(r"^## ", "### ", block, flags=re.M), ""]
        page += ["### Properties", "", "| property | type | default | flags | description |",
                 "| --- | --- | --- | --- | --- |"]
        for p in own_properties(el):
            page.append("| `%s` | %s | %s | %s | %s |" % (p.name, type_text(p), default_text(p), flags_text(p),
                                                        blurb(p)))
        page.append("")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(page).rstrip() + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
