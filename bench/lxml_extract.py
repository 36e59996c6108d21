"""Reference: the fields of xccdf2rules's lines, extracted with lxml iterparse (issue 14: "a Python lxml
iterparse extractor of the same fields"). One JSON line per rule-result that is not notselected: its Rule's
title, description, rationale, severity, remediation, idents and references, its result, messages and
idents, and its TestResult's target, profile, benchmark and times. No OVAL evidence (xccdf2rules also reads
the OVAL report for each failure's evidence). Elements are cleared once read, so memory stays flat.
Usage: lxml_extract.py FILE > lines.ndjson (prints the line count on stderr)."""
import json
import sys

from lxml import etree

XCCDF = {"http://checklists.nist.gov/xccdf/1.1", "http://checklists.nist.gov/xccdf/1.2"}
# elements read whole at their end; everything else is cleared at its end
RECORDS = {"Rule", "rule-result", "Value", "Profile", "title", "version", "target", "profile", "benchmark"}


def split(tag):
    if not isinstance(tag, str) or tag[0] != "{":
        return "", tag if isinstance(tag, str) else ""
    ns, _, local = tag[1:].partition("}")
    return ns, local


def flat(element):
    return " ".join("".join(element.itertext()).split()) if element is not None else None


def child(element, ns, name):
    return element.find(f"{{{ns}}}{name}")


def main(path):
    rules, values, profiles, benchmarks = {}, {}, {}, {}
    test = None
    out = sys.stdout
    count = 0
    bench_id = None
    for _event, el in etree.iterparse(path, events=("end",), huge_tree=True, resolve_entities=False):
        ns, local = split(el.tag)
        record = local in RECORDS
        if ns in XCCDF and record:
            parent = el.getparent()
            parent_local = split(parent.tag)[1] if parent is not None else ""
            if local == "Rule" and parent_local != "TestResult":
                fix = child(el, ns, "fixtext")
                if fix is None:
                    fix = child(el, ns, "fix")
                rules[el.get("id", "")] = {
                    "title": flat(child(el, ns, "title")) or "",
                    "description": flat(child(el, ns, "description")),
                    "rationale": flat(child(el, ns, "rationale")),
                    "severity": el.get("severity"),
                    "remediation": flat(fix),
                    "idents": [{"system": i.get("system", ""), "value": (i.text or "").strip()} for i in el.findall(f"{{{ns}}}ident")],
                    "references": [{"href": r.get("href", ""), "value": flat(r)} for r in el.findall(f"{{{ns}}}reference")],
                }
            elif local == "Value":
                v = child(el, ns, "value")
                values[el.get("id", "")] = (v.text or "").strip() if v is not None else ""
            elif local == "Profile":
                profiles[el.get("id", "")] = flat(child(el, ns, "title"))
            elif local in ("title", "version") and parent_local == "Benchmark":
                bench_id = parent.get("id", "")
                benchmarks.setdefault(bench_id, {}).setdefault(local, flat(el))
            elif parent_local == "TestResult" and local in ("target", "profile", "benchmark"):
                if test is None or test["id"] != parent.get("id"):
                    test = {"id": parent.get("id"), "start": parent.get("start-time"), "end": parent.get("end-time"), "benchmark": bench_id}
                test[local] = (el.text or "").strip() if local == "target" else el.get("idref" if local == "profile" else "id")
            elif local == "rule-result" and parent_local == "TestResult":
                if test is None or test["id"] != parent.get("id"):
                    test = {"id": parent.get("id"), "start": parent.get("start-time"), "end": parent.get("end-time"), "benchmark": bench_id}
                result = (el.findtext(f"{{{ns}}}result") or "").strip()
                if result != "notselected":
                    rule = rules.get(el.get("idref", ""), {})
                    line = {"rule_ref": el.get("idref", ""), **rule, "severity": el.get("severity") or rule.get("severity") or "unknown", "status": result}
                    messages = [flat(m) for m in el.findall(f"{{{ns}}}message")]
                    if messages:
                        line["finding"] = "\n".join(messages)
                    idents = [{"system": i.get("system", ""), "value": (i.text or "").strip()} for i in el.findall(f"{{{ns}}}ident")]
                    if idents:
                        line["idents"] = idents
                    bench = benchmarks.get(test.get("benchmark") or "", {})
                    line.update(scanner="openscap", target=test.get("target", ""), profile={"id": test.get("profile"), "title": profiles.get(test.get("profile"))},
                                benchmark={"id": test.get("benchmark"), **bench}, test_result_id=test["id"], started_at=test["start"], completed_at=test["end"])
                    out.write(json.dumps(line))
                    out.write("\n")
                    count += 1
        if not record:
            # an element inside a record is cleared with its record (a Rule's title is read at the Rule's end)
            parent = el.getparent()
            if parent is None or split(parent.tag)[1] not in RECORDS:
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
        elif local in ("Rule", "rule-result", "Value", "Profile"):
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
    print(count, file=sys.stderr)


main(sys.argv[1])
