#!/usr/bin/python3
"""docs_check.py: the reference documentation and the code agree (issue 14).

- docs/elements.md has a section for each element of the plugin and none
  for an element that does not exist; each section's property table lists
  exactly the properties the element declares.
- The README's element table names every element.
- Every element's documentation block (gst/gstNAME.c) has an example
  launch line.
- The commands of `segrank --help`, the README's command-line section and
  the man page are the same set, and `segrank COMMAND --help` works for each.
- docs/ has a page for each file format and for the meta API.

Usage: docs_check.py SOURCE_DIR SEGRANK_BINARY MANPAGE
(GST_PLUGIN_PATH must reach the built plugin.) Exit 0 when all agree, 1 with
the differences listed.
"""
import os
import re
import subprocess
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GObject, Gst  # noqa: E402

problems = []


def problem(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def plugin_elements():
    Gst.init(None)
    if Gst.Registry.get().find_plugin("segrank") is None:
        sys.exit("docs_check: plugin segrank not found (GST_PLUGIN_PATH)")
    out = {}
    for f in Gst.Registry.get().get_feature_list_by_plugin("segrank"):
        if isinstance(f, Gst.ElementFactory):
            el = f.create(None)
            t = type(el).__gtype__
            out[f.get_name()] = {p.name for p in GObject.list_properties(el) if p.owner_type == t}
    return out


def documented_elements(path):
    """{element: {property}} from docs/elements.md's sections and tables."""
    out, current, in_props = {}, None, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^## (\S+)\s*$", line)
            if m:
                current, in_props = m.group(1), False
                out[current] = set()
                continue
            if line.startswith("### "):
                in_props = line.strip() == "### Properties"
                continue
            m = re.match(r"^\| `([a-z0-9-]+)` \|", line)
            if m and current and in_props:
                out[current].add(m.group(1))
    return out


def check_elements(src):
    have = plugin_elements()
    docs = documented_elements(os.path.join(src, "docs", "elements.md"))
    for name in sorted(set(have) | set(docs)):
        if name not in docs:
            problem("element %s is not documented in docs/elements.md" % name)
            continue
        if name not in have:
            problem("docs/elements.md documents %s, which the plugin does not have" % name)
            continue
        for p in sorted(have[name] - docs[name]):
            problem("%s: property %s is not documented" % (name, p))
        for p in sorted(docs[name] - have[name]):
            problem("%s: documented property %s does not exist" % (name, p))
    with open(os.path.join(src, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for name in sorted(have):
        if "| `%s` |" % name not in readme:
            problem("README's element table lacks %s" % name)
        path = os.path.join(src, "gst", "gst%s.c" % name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        block = re.search(r"SECTION:element-%s\n(.*?)\*/" % re.escape(name), text, re.S)
        if not block:
            problem("%s has no documentation block (SECTION:element-%s)" % (path, name))
        elif "gst-launch-1.0" not in block.group(1):
            problem("%s's documentation block has no example launch line" % name)
    n_props = sum(len(v) for v in have.values())
    print("elements: %d in the plugin, %d properties, each documented once" % (len(have), n_props))


def cli_commands(binary):
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        problem("segrank --help exits %d" % r.returncode)
    return {m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)\s{2,}", r.stdout, re.M)}


def check_cli(src, binary, manpage):
    have = cli_commands(binary)
    if not have:
        problem("segrank --help lists no commands")
    with open(os.path.join(src, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = readme.split("## Command-line tool", 1)[-1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1] if section.count("```") >= 2 else ""
    documented = {m.group(1) for m in re.finditer(r"^segrank ([a-z][a-z-]*)", block, re.M)}
    with open(manpage, encoding="utf-8") as f:
        man = f.read()
    in_man = {m.group(1).replace("\\-", "-") for m in re.finditer(r"^\.SS segrank (\S+)", man, re.M)}
    for cmd in sorted(have | documented | in_man):
        if cmd not in have:
            problem("command %s is documented but `segrank --help` does not list it" % cmd)
            continue
        if cmd not in documented:
            problem("command %s is not in the README's command-line section" % cmd)
        if cmd not in in_man:
            problem("command %s is not in the man page" % cmd)
        r = subprocess.run([binary, cmd, "--help"], capture_output=True, text=True, check=False)
        if r.returncode != 0 or "Usage" not in r.stdout:
            problem("segrank %s --help exits %d or prints no usage" % (cmd, r.returncode))
    print("commands: %d, each in --help, the README and the man page" % len(have))


def check_pages(src):
    for page in ["format-model.md", "format-unary.md", "format-ranker.md", "format-proposals.md",
                 "meta-api.md", "elements.md"]:
        if not os.path.isfile(os.path.join(src, "docs", page)):
            problem("docs/%s is missing" % page)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, binary, manpage = sys.argv[1:]
    check_elements(src)
    check_cli(src, binary, manpage)
    check_pages(src)
    if problems:
        print("%d mismatch(es); regenerate docs/elements.md with `ninja -C build element-docs`" % len(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
