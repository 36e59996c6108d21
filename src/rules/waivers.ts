import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { PipeError } from "../errors.js";
import { globToRegExp } from "./glob.js";
import type { WaiverField } from "./waiver-field.js";

export interface Waiver {
  /** 1-based position in the file. */
  number: number;
  rule: string;
  hosts: string[];
  reason: string;
  /** YYYY-MM-DD, or "never". */
  expires: string;
  ticket?: string;
  source: string;
  matchesRule: RegExp;
  matchesHost: RegExp[];
}

const KEYS = new Set(["rule", "hosts", "reason", "expires", "ticket"]);

/** A YYYY-MM-DD that names a real day. */
export function isDate(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s;
}

/**
 * A waivers file's text (YAML, or JSON, which YAML reads too): a list of
 * entries, or `{waivers: [...]}`. Each entry is checked; the first fault is
 * thrown as a PipeError naming the file and the entry.
 */
export function parseWaivers(text: string, file: string): Waiver[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PipeError("E_BAD_INPUT", `not YAML or JSON: ${(err as Error).message.split("\n")[0].replace(/:$/, "")}`, { position: { source: file } });
  }
  const list = Array.isArray(doc) ? doc : doc !== null && typeof doc === "object" && Array.isArray((doc as Record<string, unknown>).waivers) ? ((doc as Record<string, unknown>).waivers as unknown[]) : null;
  if (!list) throw new PipeError("E_BAD_INPUT", "must be a list of waivers, or {waivers: [...]}", { position: { source: file } });
  return list.map((raw, i) => parseEntry(raw, i + 1, file));
}

function parseEntry(raw: unknown, number: number, file: string): Waiver {
  const named = raw !== null && typeof raw === "object" && typeof (raw as Record<string, unknown>).rule === "string" ? ` (rule ${(raw as Record<string, unknown>).rule})` : "";
  const fault = (what: string) => new PipeError("E_BAD_INPUT", `entry ${number}${named}: ${what}`, { position: { source: file } });
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw fault("must be a mapping of rule, hosts, reason, expires, ticket");
  const e = raw as Record<string, unknown>;
  const unknown = Object.keys(e).filter((k) => !KEYS.has(k));
  if (unknown.length) throw fault(`unknown field ${unknown.join(", ")} (fields: ${[...KEYS].join(", ")})`);
  if (typeof e.rule !== "string" || !e.rule) throw fault("rule is required (a rule id or a glob)");
  const hosts = e.hosts === undefined ? ["*"] : typeof e.hosts === "string" ? [e.hosts] : e.hosts;
  if (!Array.isArray(hosts) || !hosts.length || !hosts.every((h) => typeof h === "string" && h)) throw fault("hosts must be a host name glob or a list of them");
  if (typeof e.reason !== "string" || !e.reason.trim()) throw fault("reason is required");
  // a YAML 1.1 reader would give a Date; the default (1.2 core) schema gives the text
  const expires = e.expires instanceof Date ? e.expires.toISOString().slice(0, 10) : e.expires;
  if (expires === undefined) throw fault('expires is required (a date, YYYY-MM-DD; write "never" for a waiver without end)');
  if (typeof expires !== "string" || (expires !== "never" && !isDate(expires))) throw fault(`expires must be a date (YYYY-MM-DD) or "never", not ${JSON.stringify(e.expires)}`);
  if (e.ticket !== undefined && typeof e.ticket !== "string" && typeof e.ticket !== "number") throw fault("ticket must be text");
  return {
    number,
    rule: e.rule,
    hosts: hosts as string[],
    reason: e.reason,
    expires,
    ...(e.ticket !== undefined ? { ticket: String(e.ticket) } : {}),
    source: `${file}#${number}`,
    matchesRule: globToRegExp(e.rule),
    matchesHost: (hosts as string[]).map((h) => globToRegExp(h, { ignoreCase: true })),
  };
}

export async function loadWaivers(file: string): Promise<Waiver[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new PipeError("E_BAD_INPUT", `cannot read the waivers file: ${(err as Error).message}`, { position: { source: file } });
  }
  return parseWaivers(text, file);
}

/** YYYY-MM-DD `days` after `day`. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Waivers in force on `today` (a waiver holds through its expiry day), and the ones that are not. */
export class WaiverBook {
  readonly active: Waiver[];
  readonly expired: Waiver[];

  constructor(
    waivers: Waiver[],
    readonly today: string,
  ) {
    this.active = waivers.filter((w) => w.expires === "never" || w.expires >= today);
    this.expired = waivers.filter((w) => !this.active.includes(w));
  }

  /** Active waivers that end within `days` days from today. */
  expiringWithin(days: number): Waiver[] {
    const last = addDays(this.today, days);
    return this.active.filter((w) => w.expires !== "never" && w.expires <= last);
  }

  /** The first active waiver, in file order, whose rule and hosts match. */
  match(rule: string, host: string): Waiver | undefined {
    return this.active.find((w) => w.matchesRule.test(rule) && w.matchesHost.some((h) => h.test(host)));
  }
}

export function waiverField(w: Waiver): WaiverField {
  return { reason: w.reason, ...(w.expires !== "never" ? { expires: w.expires } : {}), ...(w.ticket !== undefined ? { ticket: w.ticket } : {}), source: w.source };
}

/** `14d`, `2w` or a number of days. */
export function parseDays(text: string): number | null {
  const m = /^(\d+)\s*([dw]?)$/.exec(text.trim());
  return m ? Number(m[1]) * (m[2] === "w" ? 7 : 1) : null;
}
