# SPDX-License-Identifier: LGPL-2.1-or-later
"""XML differential between two libvirt daemons serving test:///default.

Run by scripts/xml-differential.sh, which starts Debian's C libvirtd and ours
on private sockets. Every document is defined on both, read back the ways a
client reads it, started and read back live, then removed; the outputs (or
the errors: code, domain, message) must be the same. Values a daemon
generates when the document leaves them out (UUID, genid, MAC address) are
masked. Prints one line per document that differs and the totals; writes
each difference as a unified diff into --report.
"""

import argparse
import difflib
import os
import re
import sys

import libvirt

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE
SECURE = libvirt.VIR_DOMAIN_XML_SECURE

# Documents whose syntax is broken, per kind: the daemons must report the
# same libxml2 error (VIR_ERR_XML_DETAIL) with the kind's file name.
SYNTAX_CASES = [
    ("truncated", "<domain type='test'>\n  <name>x</name>\n  <memory>1024"),
    ("truncated-in-attr", "<domain type='test'>\n  <name>x</name>\n  <memory unit='KiB"),
    ("truncated-in-attr-dq", '<domain type="test">\n  <memory unit="KiB'),
    ("truncated-in-start-tag", "<domain type='test'>\n  <memory unit='KiB'"),
    ("truncated-in-name", "<domain type='test'>\n  <mem"),
    ("truncated-in-end-tag", "<domain type='test'>\n  <name>x</name>\n</dom"),
    ("truncated-after-lt", "<domain type='test'>\n  <"),
    ("unclosed-root", "<domain type='test'>\n  <name>x</name>\n"),
    ("unclosed-child", "<domain type='test'>\n  <os>\n    <type>hvm</type>\n</domain>\n"),
    ("end-tag-no-gt", "<domain type='test'>\n  <name>x</name\n  <uuid/>\n</domain>\n"),
    ("end-tag-space", "<domain type='test'>\n  <name>x</name >\n</domain>\n"),
    ("mismatched-tag", "<domain type='test'>\n  <name>x</nam>\n</domain>\n"),
    ("mismatched-root", "<domain type='test'>\n  <name>x</name>\n</domian>\n"),
    ("mismatched-prefix", "<domain type='test' xmlns:a='urn:a'>\n  <a:x></a:y>\n</domain>\n"),
    ("unquoted-attr", "<domain type=test>\n  <name>x</name>\n</domain>\n"),
    ("attr-no-value", "<domain type>\n  <name>x</name>\n</domain>\n"),
    ("attr-no-space", "<domain type='test'id='1'>\n  <name>x</name>\n</domain>\n"),
    ("attr-bad-name", "<domain type='test' 1x='2'>\n</domain>\n"),
    ("duplicate-attr", "<domain type='test' type='kvm'>\n  <name>x</name>\n</domain>\n"),
    ("undefined-entity", "<domain type='test'>\n  <name>a&foo;b</name>\n</domain>\n"),
    ("undefined-entity-attr", "<domain type='te&foo;st'>\n</domain>\n"),
    ("entity-no-semicolon", "<domain type='test'>\n  <name>a&amp b</name>\n</domain>\n"),
    ("bare-ampersand", "<domain type='test'>\n  <name>a & b</name>\n</domain>\n"),
    ("bare-ampersand-attr", "<domain type='a & b'>\n</domain>\n"),
    ("lt-in-attr", "<domain type='te<st'>\n  <name>x</name>\n</domain>\n"),
    ("garbage-after-root", "<domain type='test'>\n  <name>x</name>\n</domain>\n<extra/>\n"),
    ("text-after-root", "<domain type='test'>\n  <name>x</name>\n</domain>\ntrailing\n"),
    ("text-before-root", "junk <domain type='test'/>\n"),
    ("empty", ""),
    ("blank", "   \n\n"),
    ("not-xml", "this is not xml\n"),
    ("unclosed-comment", "<domain type='test'>\n<!-- no end\n"),
    ("double-hyphen-comment", "<domain type='test'>\n<!-- a -- b -->\n</domain>\n"),
    ("bad-char-ref", "<domain type='test'>\n  <name>&#0;</name>\n</domain>\n"),
    ("bad-hex-char-ref", "<domain type='test'>\n  <name>&#xZZ;</name>\n</domain>\n"),
    ("bad-dec-char-ref", "<domain type='test'>\n  <name>&#12a;</name>\n</domain>\n"),
    ("control-char", "<domain type='test'>\n  <name>a\x01b</name>\n</domain>\n"),
    ("cdata-end-in-text", "<domain type='test'>\n  <name>a]]>b</name>\n</domain>\n"),
    ("undeclared-prefix", "<domain type='test'>\n  <foo:bar/>\n</domain>\n"),
    ("missing-gt", "<domain type='test'\n  <name>x</name>\n</domain>\n"),
    ("end-tag-only", "</domain>\n"),
    ("invalid-child-name", "<domain type='test'>\n  < name>x</name>\n</domain>\n"),
    ("bang-element", "<domain type='test'>\n  <!name>\n</domain>\n"),
    ("two-roots-text", "<a/><b/>"),
    ("xml-decl-late", "\n<?xml version='1.0'?>\n<domain/>\n"),
    ("xml-decl-no-version", "<?xml encoding='UTF-8'?>\n<domain/>\n"),
    ("pi-unterminated", "<domain type='test'>\n<?foo bar\n"),
    ("unterminated-cdata", "<domain type='test'>\n<![CDATA[ x \n"),
    ("long-line", "<domain type='test'>\n  <name>" + "x" * 120 + "</nam>\n</domain>\n"),
    ("tab-indent", "<domain type='test'>\n\t<name>x</nam>\n</domain>\n"),
    ("crlf-lines", "<domain type='test'>\r\n  <name>x</nam>\r\n</domain>\r\n"),
    ("utf8-before-error", "<domain type='test'>\n  <name>\u00e9\u00e9</nam>\n</domain>\n"),
]


def err_text(e):
    return "ERROR code=%s domain=%s\n%s\n" % (
        e.get_error_code(),
        e.get_error_domain(),
        e.get_error_message(),
    )


def call(fn, *args):
    try:
        return fn(*args), None
    except libvirt.libvirtError as e:
        return None, err_text(e)


def mask(text, source):
    """Masks the values a daemon invents for what the document left out."""
    if text is None:
        return text
    if "<uuid>" not in source:
        text = re.sub(r"<uuid>[0-9a-f-]{36}</uuid>", "<uuid>(generated)</uuid>", text, count=1)
    if re.search(r"<genid\s*/>|<genid>\s*</genid>", source):
        text = re.sub(r"<genid>[0-9a-f-]{36}</genid>", "<genid>(generated)</genid>", text)
    given = set(m.lower() for m in re.findall(r"address=['\"]([0-9A-Fa-f:]{17})['\"]", source))

    def mac(m):
        return m.group(0) if m.group(1).lower() in given else "<mac address='(generated)'"

    text = re.sub(r"<mac address='([0-9a-f:]{17})'", mac, text)
    # Live ids count every start either daemon made before: they drift
    # apart as soon as one document starts on one side only.
    text = re.sub(r"^(<domain type='[^']*') id='[0-9]+'>", r"\1 id='(live)'>", text, flags=re.M)

    # libvirt gives every port profile that leaves them out its own random
    # instanceid (802.1Qbg or untyped) and interfaceid (openvswitch or
    # untyped).
    def port_id(m):
        return m.group(0) if m.group(2) in source else f"{m.group(1)}='(generated)'"

    text = re.sub(r"(instanceid|interfaceid)='([0-9a-f-]{36})'", port_id, text)
    return text


def domain_outputs(conn, text):
    out = []
    dom, err = call(conn.defineXML, text)
    if err:
        return [("define", err)]
    try:
        out.append(("inactive --security-info", dom.XMLDesc(INACTIVE | SECURE)))
        out.append(("inactive", dom.XMLDesc(INACTIVE)))
        _, err = call(dom.create)
        if err:
            out.append(("start", err))
        else:
            out.append(("live --security-info", dom.XMLDesc(SECURE)))
            out.append(("live", dom.XMLDesc(0)))
            out.append(("live --inactive", dom.XMLDesc(INACTIVE)))
            call(dom.destroy)
    finally:
        call(dom.undefine)
    return out


def pool_outputs(conn, text):
    pool, err = call(conn.storagePoolDefineXML, text, 0)
    if err:
        return [("define", err)]
    try:
        return [("dumpxml", pool.XMLDesc(0))]
    finally:
        call(pool.undefine)


def vol_outputs(conn, text):
    pool = conn.storagePoolLookupByName("default-pool")
    vol, err = call(pool.createXML, text, 0)
    if err:
        return [("create", err)]
    try:
        return [("dumpxml", vol.XMLDesc(0))]
    finally:
        call(vol.delete, 0)


def syntax_outputs(conn, kind, text):
    if kind != "domain":
        text = text.replace("domain", kind)
    _, err = call(syntax_call, conn, kind, text)
    return [("error", err or "no error\n")]


DOCNAMES = {
    "domain": "(domain_definition)",
    "network": "(network_definition)",
    "pool": "(storage_pool_definition)",
    "volume": "(storage_volume_definition)",
}


def syntax_call(conn, kind, text):
    if kind == "domain":
        return conn.defineXML(text)
    if kind == "network":
        return conn.networkDefineXML(text)
    if kind == "pool":
        return conn.storagePoolDefineXML(text, 0)
    return conn.storagePoolLookupByName("default-pool").createXML(text, 0)


def capture_syntax(uri, path):
    import json

    conn = libvirt.open(uri)
    cases = []
    for kind in ["domain", "network", "pool", "volume"]:
        for case, text in SYNTAX_CASES:
            if kind != "domain":
                text = text.replace("domain", kind)
            entry = {"case": case, "kind": kind, "docname": DOCNAMES[kind], "input": text}
            try:
                syntax_call(conn, kind, text)
                entry["error"] = None
            except libvirt.libvirtError as e:
                entry["code"] = e.get_error_code()
                entry["domain"] = e.get_error_domain()
                entry["message"] = e.get_error_message()
            cases.append(entry)
    with open(path, "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("captured %d syntax cases into %s" % (len(cases), path))
    return 0


def documents(corpus, extended):
    def files(folder):
        d = os.path.join(corpus, folder)
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".xml"))

    folders = ["domainschemadata", "genericxml2xmlindata"]
    if extended:
        folders += ["lxcxml2xmldata", "qemuxml2argvdata"]
    for folder in folders:
        for f in files(folder):
            yield "%s/%s" % (folder, os.path.basename(f)), "domain", f
    for folder in ["storagepoolschemadata", "storagepoolxml2xmlin"]:
        for f in files(folder):
            yield "%s/%s" % (folder, os.path.basename(f)), "pool", f
    for folder in ["storagevolschemadata", "storagevolxml2xmlin"]:
        for f in files(folder):
            yield "%s/%s" % (folder, os.path.basename(f)), "volume", f


def render(outputs):
    s = ""
    for label, text in outputs:
        s += "### %s\n%s" % (label, text if text.endswith("\n") else text + "\n")
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--c-uri", required=True)
    ap.add_argument("--rs-uri", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--extended", action="store_true")
    ap.add_argument("--only", help="substring a document's name must contain")
    ap.add_argument("--capture-syntax", metavar="FILE",
                    help="write the C daemon's syntax errors as JSON (golden data) and stop")
    args = ap.parse_args()
    if args.capture_syntax:
        return capture_syntax(args.c_uri, args.capture_syntax)

    c = libvirt.open(args.c_uri)
    rs = libvirt.open(args.rs_uri)
    same = differ = 0
    per_kind = {}
    cases = []
    for name, kind, path in documents(args.corpus, args.extended):
        with open(path, encoding="utf-8", errors="replace") as f:
            cases.append((name, kind, f.read()))
    for kind in ["domain", "network", "pool", "volume"]:
        for case, text in SYNTAX_CASES:
            cases.append(("syntax/%s/%s" % (kind, case), "syntax-" + kind, text))

    for name, kind, text in cases:
        if args.only and args.only not in name:
            continue
        if kind == "domain":
            fn = domain_outputs
        elif kind == "pool":
            fn = pool_outputs
        elif kind == "volume":
            fn = vol_outputs
        else:
            sub = kind.split("-", 1)[1]
            fn = lambda conn, t, sub=sub: syntax_outputs(conn, sub, t)
        a = render((l, mask(t, text)) for l, t in fn(c, text))
        b = render((l, mask(t, text)) for l, t in fn(rs, text))
        k = per_kind.setdefault(kind, [0, 0])
        if a == b:
            same += 1
            k[0] += 1
            continue
        differ += 1
        k[1] += 1
        diff = "".join(
            difflib.unified_diff(
                a.splitlines(True), b.splitlines(True), "C libvirtd: " + name, "ours: " + name
            )
        )
        out = os.path.join(args.report, name.replace("/", "__") + ".diff")
        with open(out, "w") as f:
            f.write(diff)
        for who, text in (("c", a), ("rs", b)):
            with open(out[: -len(".diff")] + "." + who, "w") as f:
                f.write(text)
        print("DIFFERENT %s (%s)" % (name, out))
    for kind, (s, d) in sorted(per_kind.items()):
        print("  %-16s identical %4d  different %4d" % (kind, s, d))
    print("xml-differential: %d identical, %d different" % (same, differ))
    return 1 if differ and os.environ.get("XMLDIFF_ALLOW_DIFF") != "1" else 0


if __name__ == "__main__":
    sys.exit(main())
