/**
 * Signing as MIG's client does (pgp/sign.go), with openpgp.js: the
 * investigator's key is read from `<gpg home>/secring.gpg` (binary secret
 * keys, as `gpg --export-secret-keys` writes them) and chosen by its full
 * fingerprint; the signature is a binary-mode detached signature, armored
 * and then "de-armored" to one line (the text between the armor's blank line
 * and its end line, newlines removed, the `=CRC` line kept).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { PipeError } from "../../errors.js";

/** Public-key algorithms MIG's verifier (golang.org/x/crypto/openpgp) understands. */
const MIG_CAN_VERIFY = new Set(["rsaEncryptSign", "rsaSign", "dsa"]);

export interface Signer {
  fingerprint: string;
  algorithm: string;
  /** The de-armored detached signature over the bytes of `text`. */
  sign(text: string): Promise<string>;
}

/** The one-line form MIG carries signatures in. */
export function deArmor(armored: string): string {
  const start = armored.indexOf("\n\n");
  const end = armored.indexOf("\n-----", start + 2);
  if (start < 0 || end < 0) throw new Error("not an armored signature");
  return armored.slice(start + 2, end).replace(/\n/g, "");
}

/** Back to armor, as MIG's verifier does (pgp/verify.go): 64-column lines, the CRC after the last `=`. */
export function reArmor(line: string): string {
  const crc = line.lastIndexOf("=");
  const payload = line.slice(0, crc);
  const rows = payload.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PGP SIGNATURE-----\n\n${rows.join("\n")}\n${line.slice(crc)}\n-----END PGP SIGNATURE-----\n`;
}

/**
 * Finds the key and opens it; throws a PipeError saying what is wrong
 * (no keyring, no such key, wrong or missing passphrase).
 */
export async function loadSigner(gpgHome: string, fingerprint: string, passphrase?: string): Promise<Signer> {
  const ring = join(gpgHome, "secring.gpg");
  let bytes: Uint8Array;
  try {
    bytes = await readFile(ring);
  } catch (err) {
    throw new PipeError("E_USAGE", `cannot read ${ring}: ${(err as Error).message}`);
  }
  let keys: openpgp.PrivateKey[];
  try {
    keys = await openpgp.readPrivateKeys({ binaryKeys: bytes });
  } catch (err) {
    throw new PipeError("E_USAGE", `${ring}: not a binary OpenPGP secret keyring (gpg --export-secret-keys writes one): ${(err as Error).message}`);
  }
  const want = fingerprint.toUpperCase();
  let key = keys.find((k) => k.getFingerprint().toUpperCase() === want);
  if (!key) throw new PipeError("E_USAGE", `key ${want} is not in ${ring} (it holds ${keys.map((k) => k.getFingerprint().toUpperCase()).join(", ") || "no key"})`);
  if (!key.isDecrypted()) {
    if (!passphrase) throw new PipeError("E_USAGE", `key ${want} is protected by a passphrase: set [client] passphrase in runner.cfg`);
    try {
      key = await openpgp.decryptKey({ privateKey: key, passphrase });
    } catch (err) {
      throw new PipeError("E_USAGE", `key ${want}: cannot open it with [client] passphrase: ${(err as Error).message}`);
    }
  }
  const signingKey = key;
  const algorithm = String(signingKey.getAlgorithmInfo().algorithm);
  return {
    fingerprint: want,
    algorithm,
    async sign(text) {
      const message = await openpgp.createMessage({ binary: new TextEncoder().encode(text) });
      // The Go client signs with the primary key; openpgp.js would pick a signing subkey if there is one.
      const options = { message, signingKeys: signingKey, detached: true as const, format: "armored" as const, config: { nonDeterministicSignaturesViaNotation: false } };
      let armored: string;
      try {
        armored = await openpgp.sign({ ...options, signingKeyIDs: signingKey.getKeyID() });
      } catch {
        armored = await openpgp.sign(options);
      }
      return deArmor(armored);
    },
  };
}

/** Whether MIG's API could check this key's signatures (RSA or DSA; not EdDSA or ECDSA). */
export function migCanVerify(signer: Signer): boolean {
  return MIG_CAN_VERIFY.has(signer.algorithm);
}
