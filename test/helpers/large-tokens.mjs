// Writes to stdout a document built around one large token, for the linear-time tests:
//   node large-tokens.mjs xccdf-comment|xccdf-attribute|xccdf-attributes|xccdf-title|xccdf-message|xccdf-cdata|xccdf-target SIZE
//   node large-tokens.mjs docker-whitespace|docker-keys|docker-nesting SIZE
// SIZE is megabytes (a count of attributes, keys or levels for -attributes, -keys, -nesting).
const [kind, sizeArg] = process.argv.slice(2);
const size = Number(sizeArg);
const bytes = Math.round(size * 1024 * 1024);
const out = process.stdout;
const write = (s) => new Promise((resolve) => (out.write(s) ? resolve() : out.once("drain", resolve)));
async function repeat(char, total) {
  const piece = char.repeat(Math.ceil((1 << 16) / char.length));
  for (let sent = 0; sent < total; sent += piece.length) await write(total - sent < piece.length ? piece.slice(0, total - sent) : piece);
}
async function repeatEach(count, make) {
  let s = "";
  for (let i = 0; i < count; i++) {
    s += make(i);
    if (s.length > 1 << 16) await write(s), (s = "");
  }
  await write(s);
}
const head = (title = "B") => `<?xml version="1.0"?>\n<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b"><title>${title}`;
const testResult = `</title><TestResult id="t" start-time="2024-01-01T00:00:00Z" end-time="2024-01-01T00:00:00Z"><target>h</target>\n`;
const ruleResult = (i) => `<rule-result idref="r${i}"><result>pass</result></rule-result>\n`;
const end = "</TestResult></Benchmark>\n";

switch (kind) {
  case "xccdf-comment":
    await write(head() + testResult + ruleResult(0) + "<!--");
    await repeat("x", bytes);
    await write("-->" + ruleResult(1) + end);
    break;
  case "xccdf-attribute":
    await write(head() + testResult + `<rule-result idref="r0" other="`);
    await repeat("x", bytes);
    await write(`"><result>pass</result></rule-result>` + end);
    break;
  case "xccdf-attributes":
    await write(head() + testResult + `<rule-result idref="r0"`);
    await repeatEach(size, (i) => ` a${i}="v"`);
    await write(`><result>pass</result></rule-result>` + end);
    break;
  case "xccdf-title":
    await write(head(""));
    await repeat("T", bytes);
    await write(testResult);
    await repeatEach(200, ruleResult);
    await write(end);
    break;
  case "xccdf-message":
  case "xccdf-cdata": {
    const [open, close] = kind === "xccdf-cdata" ? ["<![CDATA[", "]]>"] : ["", ""];
    await write(head() + testResult + `<rule-result idref="r0"><result>fail</result><message>${open}`);
    await repeat("m", bytes);
    await write(`${close}</message></rule-result>\n`);
    await repeatEach(200, (i) => ruleResult(i + 1));
    await write(end);
    break;
  }
  case "xccdf-target":
    await write(head() + `</title><TestResult id="t"><target>`);
    await repeat("h", bytes);
    await write("</target>\n");
    await repeatEach(200, ruleResult);
    await write(end);
    break;
  case "docker-whitespace":
  case "docker-spaces": {
    // lines of 80 blanks (or one line of spaces) inside a check, and between checks
    const blank = kind === "docker-whitespace" ? `${" ".repeat(79)}\n` : " ";
    await write(`{"dockerbenchsecurity":"1.3.4","start":1700000000,"tests":[{"id":"1","desc":"Host","results":[{"id":"1.1","desc":"d",`);
    await repeat(blank, bytes / 2);
    await write(`"result":"PASS"},`);
    await repeat(blank, bytes / 2);
    await write(`{"id":"1.2","desc":"e","result":"WARN"}]}],"checks":2}\n`);
    break;
  }
  case "docker-keys":
    // gen 0: one key per offending item, repeated
    await write(`{\n"dockerbenchsecurity": "1.1.0",\n`);
    await repeatEach(size, (i) => `"4.6": "WARN: [image-${i}:latest]",\n`);
    await write(`"5.1": "PASS"\n}\n`);
    break;
  case "docker-nesting":
    await write(`{"dockerbenchsecurity":"1.3.4","tests":[{"id":"1","results":[{"id":"1.1","result":"PASS"}]}],"deep":`);
    await repeat("[", size);
    await repeat("]", size);
    await write(`}\n`);
    break;
  default:
    process.stderr.write(`unknown case ${kind}\n`);
    process.exit(2);
}
