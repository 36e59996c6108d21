// Builds the benchmark inputs from real files: a rule-heavy ARF (the rule-results of a real host's
// ARF repeated inside its TestResult) and an OVAL-heavy ARF (a real oscap run's OVAL system data
// repeated inside its oval_results), each at least TARGET_MB. Written in pieces: flat memory.
import { openSync, writeSync, closeSync, readFileSync, existsSync, statSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";

const [, , outDir, fixtures, bundledArf] = process.argv;
const TARGET = Number(process.env.TARGET_MB ?? 320) * 1024 * 1024;

/** Writes text with the part between `from` and `to` (exclusive) repeated until the file reaches TARGET. */
function build(name, text, from, to) {
  const file = join(outDir, name);
  if (existsSync(file) && statSync(file).size >= TARGET) return file;
  const [head, block, tail] = [text.slice(0, from), text.slice(from, to), text.slice(to)].map((s) => Buffer.from(s));
  const batch = Buffer.concat(Array(Math.max(1, Math.floor((4 << 20) / block.length))).fill(block));
  const fd = openSync(file, "w");
  writeSync(fd, head);
  for (let size = head.length + tail.length; size < TARGET; size += batch.length) writeSync(fd, batch);
  writeSync(fd, tail);
  closeSync(fd);
  return file;
}

const firefox = readFileSync(join(fixtures, "xccdf/foreman_openscap__arf_report_firefox.xml"), "utf8");
console.log(build("rule-heavy.arf.xml", firefox, firefox.indexOf("<rule-result "), firefox.lastIndexOf("</rule-result>") + "</rule-result>".length));

const stdout = gunzipSync(readFileSync(bundledArf)).toString("utf8");
const end = "</arf:asset-report-collection>";
const arf = stdout.slice(stdout.indexOf("<?xml"), stdout.indexOf(end) + end.length) + "\n";
console.log(build("oval-heavy.arf.xml", arf, arf.indexOf("<system_data>") + "<system_data>".length, arf.indexOf("</system_data>")));
