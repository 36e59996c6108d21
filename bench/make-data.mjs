// Builds the benchmark inputs from real files, each at least TARGET_MB, written in pieces (flat memory):
// - rule-heavy-cis: a real Ubuntu 22.04 CIS Level 2 Server scan's rule-results (test/data, made by
//   test/data/ubuntu2204-cis-level2-server.sh) repeated inside its TestResult: output lines average ~10 KB and the
//   output is ~16x the input (273 of its 592 rule-results are in the profile). The most demanding row.
// - rule-heavy-real: the bundled real Debian 11 scan's rule-results repeated inside its TestResult. Its
//   Benchmark is a real SSG one whose Rules carry full descriptions, rationales and fixes, so output lines
//   average ~6.4 KB, the shape of real SSG scans (a real Ubuntu 22.04 CIS scan: ~10 KB). The primary row.
// - rule-heavy: a Foreman ARF's rule-results repeated (output lines ~1.9 KB): the earlier, friendlier row.
// - oval-heavy: the bundled real scan's OVAL system data repeated inside its oval_results.
import { openSync, writeSync, closeSync, readFileSync, existsSync, statSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";

const [, , outDir, fixtures, bundledArf, cisArf] = process.argv;
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

const cis = gunzipSync(readFileSync(cisArf)).toString("utf8");
console.log(build("rule-heavy-cis.arf.xml", cis, cis.indexOf("<rule-result "), cis.lastIndexOf("</rule-result>") + "</rule-result>".length));

const stdout = gunzipSync(readFileSync(bundledArf)).toString("utf8");
const end = "</arf:asset-report-collection>";
const arf = stdout.slice(stdout.indexOf("<?xml"), stdout.indexOf(end) + end.length) + "\n";
console.log(build("rule-heavy-real.arf.xml", arf, arf.indexOf("<rule-result "), arf.lastIndexOf("</rule-result>") + "</rule-result>".length));
console.log(build("oval-heavy.arf.xml", arf, arf.indexOf("<system_data>") + "<system_data>".length, arf.indexOf("</system_data>")));
