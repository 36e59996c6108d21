import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { BIN, ROOT } from "./helpers/paths.js";

// xccdf2rules writes to fd 1 with writeSync (no process.stdout: see writeStdout in src/cli/run.ts), and
// through process.stdout from the first EAGAIN on.

/** Runs xccdf2rules FILE with its stdout a pipe in non-blocking mode that a slow reader drains. */
function throughNonBlockingPipe(file: string, env: NodeJS.ProcessEnv = {}) {
  const python = [
    "import fcntl, os, struct, subprocess, sys, termios, time",
    "r, w = os.pipe()",
    "os.set_blocking(w, False)",
    "p = subprocess.Popen(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)",
    "os.close(w)",
    "# nothing is read until the pipe is full (~64 KB waiting, no more coming): the writer has had EAGAIN",
    "waiting = lambda: struct.unpack('i', fcntl.ioctl(r, termios.FIONREAD, b'\\0' * 4))[0]",
    "deadline = time.time() + 60",
    "seen = -1",
    "while time.time() < deadline and p.poll() is None and not (seen >= 60000 and seen == waiting()):",
    "    seen = waiting()",
    "    time.sleep(0.05)",
    "sys.stderr.write('pipe full\\n' if seen >= 60000 and p.poll() is None else 'pipe not full\\n')",
    "out = bytearray()",
    "while True:",
    "    b = os.read(r, 65536)",
    "    if not b: break",
    "    out += b",
    "err = p.stderr.read()",
    "sys.stdout.buffer.write(out)",
    "sys.stderr.buffer.write(err)",
    "sys.exit(p.wait())",
  ].join("\n");
  return spawnSync("python3", ["-c", python, join(BIN, "xccdf2rules"), file], { env: { ...process.env, ...env }, maxBuffer: 1 << 30 });
}

describe("xccdf2rules's output", () => {
  const arf = join(ROOT, "examples/data/debian11-anssi-np-nt28-high.oscap-stdout.arf.gz");

  it("is whole and in order through a non-blocking pipe that fills (the bundle and dist's modules alike)", () => {
    const expected = spawnSync(join(BIN, "xccdf2rules"), [arf], { maxBuffer: 1 << 30 });
    expect(expected.status).toBe(0);
    expect(expected.stdout.length).toBeGreaterThan(256 * 1024);
    for (const env of [{}, { COMPLIANCE_PIPES_NO_BUNDLE: "1" }]) {
      const r = throughNonBlockingPipe(arf, env);
      expect(r.stderr.toString()).toMatch(/^pipe full$/m);
      expect(r.stderr.toString()).not.toMatch(/EAGAIN|Error/);
      expect(r.status).toBe(0);
      expect(r.stdout.equals(expected.stdout)).toBe(true);
    }
  });
});
