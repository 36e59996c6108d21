import { readFileSync } from "node:fs";
import { PipeError } from "../errors.js";

export interface TlsOptions {
  /** PEM file of the CA(s) to trust instead of the system's. */
  ca?: string;
  /** Client certificate and key (PEM files). */
  cert?: string;
  key?: string;
  /** Skip certificate verification (only when asked for). */
  insecure?: boolean;
}

/** Node TLS connect options from the files named; verification stays on unless insecure. */
export function tlsConnectOptions(tls: TlsOptions = {}) {
  const read = (file: string | undefined, what: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (cause) {
      throw new PipeError("E_USAGE", `cannot read ${what} ${file}: ${(cause as Error).message}`, { cause });
    }
  };
  return { ca: read(tls.ca, "CA file"), cert: read(tls.cert, "client certificate"), key: read(tls.key, "client key"), rejectUnauthorized: !tls.insecure };
}
