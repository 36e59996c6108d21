// After tsc: bundles xccdf2rules's plain run (file names or stdin, no options) into one CommonJS module,
// dist/bundle/xccdf2rules.cjs (its text wrapped in Node's module function), and writes a V8 code cache for it, so that bin/xccdf2rules starts without
// resolving and compiling ~40 ES modules. Measured on a 21 KB ARF (2 cores, Node 20): 110-118 ms through
// dist's modules, 84-89 ms bundled with the cache, `node -e 0` 57-60 ms. Options other than file names
// still go through dist's modules (yargs is not in the bundle).
import { build } from "esbuild";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const dist = join(root, "dist");
const out = join(dist, "bundle", "xccdf2rules.cjs");

/** Each module's import.meta.url, as the URL of its file in dist at run time (wherever the package is). */
const moduleUrls = {
  name: "module-urls",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist)) return undefined;
      const rel = relative(dist, args.path).split("\\").join("/");
      const text = readFileSync(args.path, "utf8")
        // saxes is loaded with require() in dist (see saxes-faults.ts): here it goes into the bundle
        .replace('createRequire(import.meta.url)("saxes")', 'require("saxes")')
        // builtin.ts's require for Node's modules: the bundle's own (no file URL made and parsed back at start)
        .replace("createRequire(import.meta.url)", "require")
        .replaceAll("import.meta.url", `__distUrl(${JSON.stringify(rel)})`);
      return { contents: text, loader: "js" };
    });
  },
};

await build({
  entryPoints: [join(dist, "commands", "xccdf2rules.js")],
  outfile: out,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["yargs"],
  plugins: [moduleUrls],
  banner: { js: 'const __distUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, "..", rel)).href;' },
  // whitespace, syntax and local names: 238 -> 113 KB, and a code cache of 179 KB, not 185, which the shim
  // reads and V8 takes in sooner than with whitespace and syntax only (143 KB). A small gain: in-process,
  // fastest of 60, a small ARF's run 4.13 -> 4.03 ms in one comparison, within the noise in another. A
  // stack trace from the bundle (COMPLIANCE_PIPES_DEBUG) names minified functions:
  // COMPLIANCE_PIPES_NO_BUNDLE=1 runs dist's modules, with their names
  minify: true,
  logLevel: "warning",
});
// Wrapped here as Module.wrap would wrap it, so that the shim compiles the file's text as read: wrapping it
// there made a second copy of it for V8 to flatten (~0.1 ms). esbuild writes ASCII only (it escapes the
// rest), which lets the shim read the file as Latin-1, a plain copy.
writeFileSync(out, `(function (exports, require, module, __filename, __dirname) { ${readFileSync(out, "utf8")}\n});`);

// The cache holds the code of every function a run compiled, so it is made by a real run, with the shim's
// own V8 flags (V8 rejects a cache made under other flags). A short one: a small real ARF (30 KB: data
// stream, TestResult, OVAL results with evidence; see its make.sh). A cache made by a long run (the
// bundled 8 MB ARF) cost a small file's run ~0.5 ms more (in-process, fastest of 15: 6.51 -> 7.08 ms from
// the shim's start to exit; with the shim's flags), and one made by 30 runs of the small file ~0.8 ms:
// functions that ran hot came out of it slower to set up. Large files compile the few functions the
// sample does not reach as they meet them.
rmSync(`${out}.cache`, { force: true });
const sample = join(root, "scripts", "code-cache-sample", "sample.arf.xml");
const run = spawnSync(join(root, "bin", "xccdf2rules"), [sample], {
  env: { ...process.env, COMPLIANCE_PIPES_WRITE_CODE_CACHE: "1" },
  stdio: ["ignore", "ignore", "pipe"],
});
if (run.status !== 0) {
  process.stderr.write(`build-bundle: the run that makes the code cache failed (${run.status ?? run.signal}):\n${run.stderr}`);
  process.exit(1);
}
console.log(`${relative(root, out)} and its code cache (${dirname(relative(root, out))})`);
