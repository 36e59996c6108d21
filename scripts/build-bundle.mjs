// After tsc: bundles xccdf2rules's plain run (file names or stdin, no options) into one CommonJS file,
// dist/bundle/xccdf2rules.cjs, and writes a V8 code cache for it, so that bin/xccdf2rules starts without
// resolving and compiling ~40 ES modules. Measured on a 21 KB ARF (2 cores, Node 20): 110-118 ms through
// dist's modules, 84-89 ms bundled with the cache, `node -e 0` 57-60 ms. Options other than file names
// still go through dist's modules (yargs is not in the bundle).
import { build } from "esbuild";
import { readFileSync, rmSync } from "node:fs";
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
  logLevel: "warning",
});

// The cache holds the code of every function a run compiled, so it is made by a real run (the bundled
// Debian 11 ARF: gzip, the quick path, OVAL evidence), with the shim's own V8 flags (V8 rejects a cache
// made under other flags).
rmSync(`${out}.cache`, { force: true });
const example = join(root, "examples", "data", "debian11-anssi-np-nt28-high.oscap-stdout.arf.gz");
const run = spawnSync(join(root, "bin", "xccdf2rules"), [example], {
  env: { ...process.env, COMPLIANCE_PIPES_WRITE_CODE_CACHE: "1" },
  stdio: ["ignore", "ignore", "pipe"],
});
if (run.status !== 0) {
  process.stderr.write(`build-bundle: the run that makes the code cache failed (${run.status ?? run.signal}):\n${run.stderr}`);
  process.exit(1);
}
console.log(`${relative(root, out)} and its code cache (${dirname(relative(root, out))})`);
