import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A GnuPG home made for a test, with the investigator's key exported as MIG's client wants it. */
export interface TestKey {
  /** The investigator's GNUPGHOME (the key was generated here); secring.gpg is in it. */
  home: string;
  fingerprint: string;
  passphrase: string;
  /** The API's GNUPGHOME: only the public key, imported. */
  apiHome: string;
}

export function gpg(home: string, args: string[], input?: string | Buffer) {
  const r = spawnSync("gpg", ["--homedir", home, "--batch", "--no-tty", "--pinentry-mode", "loopback", ...args], { input, maxBuffer: 16 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/**
 * Generates a key with real GnuPG (2.2: `--quick-gen-key`), exports its
 * secret key to `<home>/secring.gpg` (binary, as `gpg --export-secret-keys`
 * writes), and imports its public key into a second home for the API.
 * Key generation takes seconds on a loaded machine, so the key is made once
 * in a temporary directory named after its kind and reused by every test
 * file (the first to come makes it; the others wait for its `ready` mark).
 * The gpg-agent is stopped once the key is exported: from then on only
 * `gpg --verify`, which needs no agent, runs in these homes.
 */
export function makeTestKey(o: { algo?: string; passphrase?: string } = {}): TestKey {
  const algo = o.algo ?? "rsa2048";
  const passphrase = o.passphrase ?? "";
  const base = join(tmpdir(), `compliance-pipes-mig-key-${algo}-${Buffer.from(passphrase).toString("hex") || "plain"}`);
  const home = join(base, "investigator");
  const apiHome = join(base, "api");
  const ready = join(base, "ready");
  const made = () => ({ home, apiHome, passphrase, fingerprint: readFileSync(ready, "utf8").trim() });
  if (existsSync(ready)) return made();
  try {
    mkdirSync(base);
  } catch {
    // another test file is making it
    const deadline = Date.now() + 180_000;
    while (!existsSync(ready)) {
      if (Date.now() > deadline) throw new Error(`no test key appeared in ${base}`);
      spawnSync("sleep", ["0.2"]);
    }
    return made();
  }
  try {
    mkdirSync(home, { mode: 0o700 });
    mkdirSync(apiHome, { mode: 0o700 });
    const gen = gpg(home, ["--passphrase", passphrase, "--quick-gen-key", "MIG Runner Test <runner@example.net>", algo, "sign", "never"]);
    if (gen.status !== 0) throw new Error(`gpg --quick-gen-key: ${gen.stderr}`);
    const list = gpg(home, ["--with-colons", "--list-secret-keys"]).stdout.toString();
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(list)![1];
    const secret = gpg(home, ["--passphrase", passphrase, "--export-secret-keys", fingerprint]);
    if (secret.status !== 0 || !secret.stdout.length) throw new Error(`gpg --export-secret-keys: ${secret.stderr}`);
    writeFileSync(join(home, "secring.gpg"), secret.stdout);
    const pub = gpg(home, ["--export", fingerprint]).stdout;
    const imported = gpg(apiHome, ["--import"], pub);
    if (imported.status !== 0) throw new Error(`gpg --import: ${imported.stderr}`);
    spawnSync("gpgconf", ["--homedir", home, "--kill", "all"]);
    spawnSync("gpgconf", ["--homedir", apiHome, "--kill", "all"]);
    writeFileSync(ready, fingerprint);
    return made();
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
}

/**
 * `gpg --verify` of a one-line MIG signature over `data`: re-armored as the
 * spec page says, checked against the API home's keys. Returns the signer's
 * fingerprint, or null when the signature does not verify.
 */
export function gpgVerify(apiHome: string, data: string, oneLine: string): string | null {
  const crc = oneLine.lastIndexOf("=");
  if (crc < 0) return null;
  const body = (oneLine.slice(0, crc).match(/.{1,64}/g) ?? []).join("\n");
  const armored = `-----BEGIN PGP SIGNATURE-----\n\n${body}\n${oneLine.slice(crc)}\n-----END PGP SIGNATURE-----\n`;
  const dir = mkdtempSync(join(tmpdir(), "mig-verify-"));
  writeFileSync(join(dir, "data"), data);
  writeFileSync(join(dir, "data.asc"), armored);
  const r = gpg(apiHome, ["--status-fd", "1", "--verify", join(dir, "data.asc"), join(dir, "data")]);
  const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]{40}) /m.exec(r.stdout.toString());
  return r.status === 0 && valid ? valid[1] : null;
}
