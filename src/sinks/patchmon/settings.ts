import { readFileSync } from "node:fs";
import { PipeError } from "../../errors.js";

export const PATCHMON_CONFIG = "/etc/patchmon/config.yml";
export const PATCHMON_CREDENTIALS = "/etc/patchmon/credentials.yml";

/** Top-level `key: value` pairs of a YAML file (all the agent's files hold). */
export function readFlatYaml(path: string): Record<string, string> | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new PipeError("E_USAGE", `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z_][\w-]*):\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2].replace(/\s+#.*$/, "");
    if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

export interface PatchmonSettings {
  server?: string;
  apiId?: string;
  apiKey?: string;
  /** Where the credentials came from, for messages (never the values). */
  credentialsFrom?: string;
}

/**
 * Server URL and API credentials: flags and environment first, then a
 * credentials file, then the agent's own /etc/patchmon files. Never argv
 * for the secrets.
 */
export function patchmonSettings(opts: { server?: string; credentials?: string; config?: string }, env = process.env): PatchmonSettings {
  const config = readFlatYaml(opts.config ?? PATCHMON_CONFIG) ?? {};
  const s: PatchmonSettings = { server: opts.server ?? env.PATCHMON_SERVER ?? config.patchmon_server ?? config.server_url };
  if (env.PATCHMON_API_ID || env.PATCHMON_API_KEY) {
    return { ...s, apiId: env.PATCHMON_API_ID, apiKey: env.PATCHMON_API_KEY, credentialsFrom: "PATCHMON_API_ID/PATCHMON_API_KEY" };
  }
  const file = opts.credentials ?? config.credentials_file ?? PATCHMON_CREDENTIALS;
  const creds = readFlatYaml(file);
  if (!creds && opts.credentials) throw new PipeError("E_USAGE", `credentials file not found: ${file}`);
  if (creds) return { ...s, apiId: creds.api_id, apiKey: creds.api_key, credentialsFrom: file };
  return s;
}
