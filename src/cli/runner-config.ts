import { readFileSync } from "node:fs";
import { PipeError } from "../errors.js";

/** section → key → value; names are lower-cased (gcfg names are case-insensitive). */
export type IniConfig = Record<string, Record<string, string>>;

export const DEFAULT_CONFIG = "/etc/mig/runner-compliance.conf";

/** The `--config` option of the commands that read runner-compliance.conf. */
export const configOption = (what = "") => ({ type: "string", describe: `runner-compliance.conf (gcfg INI)${what}`, defaultDescription: DEFAULT_CONFIG }) as const;

/** The values the MIG plugin's commands take from runner-compliance.conf. */
export interface RunnerComplianceConfig {
  migApi?: string;
  mozdefUrl?: string;
  vmintgrBin?: string;
  /** The file read, if any. */
  file?: string;
}

/**
 * Parses the gcfg (git-config-like) INI file the original plugin reads:
 * `[section]` or `[section "sub"]`, `key = value`, values optionally
 * double-quoted with \" \\ \n \t escapes, `;` and `#` comments.
 */
export function parseIni(text: string, source: string): IniConfig {
  const out: IniConfig = {};
  let section: string | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const where = { source, line: i + 1 };
    const line = raw.trim();
    if (!line || line.startsWith(";") || line.startsWith("#")) return;
    const header = /^\[\s*([A-Za-z][\w.-]*)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(?:[;#].*)?$/.exec(line);
    if (header) {
      section = header[1].toLowerCase() + (header[2] !== undefined ? `.${header[2]}` : "");
      out[section] ??= {};
      return;
    }
    const kv = /^([A-Za-z][\w-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!kv) throw new PipeError("E_USAGE", `invalid config line: ${JSON.stringify(raw.slice(0, 80))}`, { position: where });
    if (section === null) throw new PipeError("E_USAGE", `key '${kv[1]}' outside of a [section]`, { position: where });
    out[section][kv[1].toLowerCase()] = kv[2] === undefined ? "true" : parseValue(kv[2], where);
  });
  return out;
}

function parseValue(text: string, where: { source: string; line: number }): string {
  let value = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === "\\") {
      const next = text[++i];
      const escapes: Record<string, string> = { n: "\n", t: "\t", b: "\b", '"': '"', "\\": "\\" };
      if (next === undefined || !(next in escapes)) throw new PipeError("E_USAGE", `invalid escape in value`, { position: where });
      value += escapes[next];
    } else if (!quoted && (c === ";" || c === "#")) break;
    else value += c;
  }
  if (quoted) throw new PipeError("E_USAGE", "unterminated quoted value", { position: where });
  return value.trim();
}

/**
 * Reads runner-compliance.conf. A missing file is not an error here (flags
 * may say everything); callers complain about the values they lack.
 */
export function loadRunnerComplianceConfig(path: string | undefined): RunnerComplianceConfig {
  const file = path ?? DEFAULT_CONFIG;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new PipeError("E_USAGE", `cannot read config: ${(cause as Error).message}`, { position: { source: file }, cause });
  }
  const ini = parseIni(text, file);
  return { migApi: ini.mig?.api, mozdefUrl: ini.mozdef?.url, vmintgrBin: ini.vmintgr?.bin, file };
}

/** Why a value is missing, when neither a flag nor the config gave it. */
export function missingSettingText(flag: string, iniKey: string, configPath: string | undefined, cfg: RunnerComplianceConfig): string {
  const where = cfg.file ? `not in ${cfg.file}` : `${configPath ?? DEFAULT_CONFIG} not found`;
  return `no ${iniKey} value: give ${flag} or set ${iniKey} in the config file (${where})`;
}

/** The one-line complaint when neither a flag nor the config gave a value that is needed. */
export function missingSetting(flag: string, iniKey: string, configPath: string | undefined, cfg: RunnerComplianceConfig): PipeError {
  return new PipeError("E_USAGE", missingSettingText(flag, iniKey, configPath, cfg));
}
