// After tsc: writes each command's --help text to dist/help/<command>.txt, so that the bin/ shims can
// answer --help without loading yargs and the command's modules (see src/cli/fast-path.ts).
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));
const { parseArgs, Answered } = await import(`${dist}cli/run.js`);
mkdirSync(`${dist}help`, { recursive: true });
for (const file of readdirSync(`${dist}commands`).filter((f) => f.endsWith(".js"))) {
  const { spec } = await import(`${dist}commands/${file}`);
  let text = "";
  const out = new Writable({ write: (chunk, _enc, done) => ((text += chunk), done()) });
  try {
    await parseArgs(spec, ["--help"], out);
  } catch (err) {
    if (!(err instanceof Answered)) throw err;
  }
  writeFileSync(`${dist}help/${spec.name}.txt`, text);
}
