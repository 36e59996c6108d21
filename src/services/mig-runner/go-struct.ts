/**
 * MIG's types as Go's encoding/json reads and writes them, so that the
 * files this runner writes (results, inflight) are byte for byte what the
 * Go runner writes: struct fields in declaration order, `omitempty` fields
 * left out when empty, absent fields written as their zero value, unknown
 * keys dropped, and free-form values (`interface{}`: operation parameters,
 * result elements) with their object keys sorted. Field tables: MIG
 * action.go, command.go, agent.go, investigator.go, modules/modules.go,
 * runner.go (../shared/spec/mig.md §1).
 */
import { goJson } from "../../util/go-json.js";

export type Shape = "string" | "float" | "int" | "bool" | "time" | "any" | { struct: string; fields: Field[] } | { slice: Shape } | { map: Shape };
type Field = [name: string, shape: Shape, omitempty?: "omitempty"];

const OE = "omitempty" as const;
const struct = (name: string, fields: Field[]): Shape => ({ struct: name, fields });

const DESCRIPTION = struct("Description", [["author", "string", OE], ["email", "string", OE], ["url", "string", OE], ["revision", "float", OE]]);
const THREAT = struct("Threat", [["ref", "string", OE], ["level", "string", OE], ["family", "string", OE], ["type", "string", OE]]);
export const OPERATION = struct("Operation", [["module", "string"], ["parameters", "any"], ["is_compressed", "bool", OE], ["want_compressed", "bool", OE]]);
const PERMISSIONS = struct("InvestigatorPerms", [
  "search", "action", "action_create", "command", "agent", "dashboard", "loader", "loader_status", "loader_expect", "loader_key", "loader_new",
  "manifest", "manifest_sign", "manifest_status", "manifest_new", "manifest_loaders", "investigator", "investigator_create", "investigator_update",
].map((n): Field => [n, "bool"]));
const INVESTIGATOR = struct("Investigator", [
  ["id", "float", OE], ["name", "string"], ["pgpfingerprint", "string"], ["publickey", "string", OE], ["privatekey", "string", OE], ["status", "string"],
  ["createdat", "time"], ["lastmodified", "time"], ["apikey", "string", OE], ["permissions", PERMISSIONS],
]);
const COUNTERS = struct("ActionCounters", ["sent", "done", "inflight", "success", "cancelled", "expired", "failed", "timeout"].map((n): Field => [n, "int", OE]));
export const ACTION = struct("Action", [
  ["id", "float"], ["name", "string"], ["target", "string"], ["description", DESCRIPTION, OE], ["threat", THREAT, OE], ["validfrom", "time"], ["expireafter", "time"],
  ["operations", { slice: OPERATION }], ["pgpsignatures", { slice: "string" }], ["investigators", { slice: INVESTIGATOR }, OE], ["status", "string", OE],
  ["starttime", "time", OE], ["finishtime", "time", OE], ["lastupdatetime", "time", OE], ["counters", COUNTERS, OE], ["syntaxversion", "int", OE],
]);
const AWS = struct("AgentEnvAWS", [["instanceid", "string", OE], ["localipv4", "string", OE], ["amiid", "string", OE], ["instancetype", "string", OE]]);
const AGENT_ENV = struct("AgentEnv", [
  ["init", "string", OE], ["ident", "string", OE], ["os", "string", OE], ["arch", "string", OE], ["isproxied", "bool"], ["proxy", "string", OE],
  ["addresses", { slice: "string" }, OE], ["publicip", "string", OE], ["aws", AWS, OE], ["modules", { slice: "string" }, OE],
]);
const AGENT = struct("Agent", [
  ["id", "float", OE], ["name", "string"], ["queueloc", "string"], ["mode", "string"], ["version", "string", OE], ["pid", "int", OE], ["loadername", "string", OE],
  ["starttime", "time", OE], ["destructiontime", "time", OE], ["heartbeatts", "time", OE], ["refreshts", "time", OE], ["status", "string", OE],
  ["authorized", "bool", OE], ["environment", AGENT_ENV, OE], ["tags", { map: "string" }, OE],
]);
const RESULT = struct("Result", [["foundanything", "bool"], ["success", "bool"], ["elements", "any"], ["statistics", "any"], ["errors", { slice: "string" }]]);
export const COMMAND = struct("Command", [
  ["id", "float"], ["action", ACTION], ["agent", AGENT], ["status", "string"], ["results", { slice: RESULT }], ["starttime", "time"], ["finishtime", "time"],
]);
export const RUNNER_RESULT = struct("RunnerResult", [["action", ACTION], ["commands", { slice: COMMAND }], ["name", "string"], ["plugin", "string"]]);

export const ZERO_TIME = "0001-01-01T00:00:00Z";

export class GoDecodeError extends Error {}

const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "object" ? "object" : typeof v);

/**
 * A time as Go's time.Time reads it (RFC 3339) and writes it back
 * (RFC3339Nano: fraction without trailing zeros, a zero offset as `Z`).
 */
export function goTime(text: string): string | null {
  const m = /^(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return null;
  const fraction = (m[3] ?? "").slice(0, 9).replace(/0+$/, "");
  const zone = /^[Zz]$|^[+-]00:00$/.test(m[4]) ? "Z" : m[4];
  return `${m[1]}T${m[2]}${fraction ? `.${fraction}` : ""}${zone}`;
}

/** A JS time as Go's json.Marshal of a UTC time.Time writes it. */
export function goTimeOf(date: Date): string {
  return goTime(date.toISOString())!;
}

/** The zero value Go gives an absent field. */
function zero(shape: Shape): unknown {
  if (shape === "string") return "";
  if (shape === "float" || shape === "int") return 0;
  if (shape === "bool") return false;
  if (shape === "time") return ZERO_TIME;
  if (typeof shape === "object" && "struct" in shape) return decodeGo({}, shape);
  return null;
}

/**
 * Reads JSON-parsed `value` into `shape` as json.Unmarshal would: checks
 * types (throws GoDecodeError naming the field), fills zero values, drops
 * unknown keys, matches field names case-insensitively when no exact key.
 * The result is the canonical value encodeGo writes.
 */
export function decodeGo(value: unknown, shape: Shape, path = ""): unknown {
  const fail = (want: string): never => {
    throw new GoDecodeError(`${path || "value"}: cannot read ${typeName(value)} as ${want}`);
  };
  if (value === null || value === undefined) return zero(shape);
  if (shape === "any") return value;
  if (shape === "string") return typeof value === "string" ? value : fail("a string");
  if (shape === "bool") return typeof value === "boolean" ? value : fail("a boolean");
  if (shape === "float") return typeof value === "number" ? value : fail("a number");
  if (shape === "int") return typeof value === "number" && Number.isInteger(value) ? value : fail("an integer");
  if (shape === "time") {
    const t = typeof value === "string" ? goTime(value) : null;
    return t ?? fail("an RFC 3339 time");
  }
  if ("slice" in shape) {
    if (!Array.isArray(value)) return fail("an array");
    return value.map((v, i) => decodeGo(v, shape.slice, `${path}[${i}]`));
  }
  if (typeof value !== "object" || Array.isArray(value)) return fail(`an object (${"struct" in shape ? shape.struct : "map"})`);
  const obj = value as Record<string, unknown>;
  if ("map" in shape) return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, decodeGo(v, shape.map, `${path}.${k}`)]));
  const out: Record<string, unknown> = {};
  for (const [name, fieldShape] of shape.fields) {
    const key = name in obj ? name : Object.keys(obj).reverse().find((k) => k.toLowerCase() === name);
    out[name] = key === undefined ? zero(fieldShape) : decodeGo(obj[key], fieldShape, path ? `${path}.${name}` : name);
  }
  return out;
}

const isEmpty = (v: unknown) => v === "" || v === 0 || v === false || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** Go's compact JSON of a free-form value: object keys sorted, `<>&` escaped. */
export function encodeAny(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(encodeAny).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${goJson(k)}:${encodeAny(obj[k])}`)
      .join(",")}}`;
  }
  return goJson(value ?? null);
}

/** Writes a value decodeGo produced as Go's json.Marshal writes it. */
export function encodeGo(value: unknown, shape: Shape): string {
  if (shape === "any") return encodeAny(value);
  if (typeof shape === "string") return goJson(shape === "int" ? Math.trunc(value as number) : value);
  if (value === null || value === undefined) return "null";
  if ("slice" in shape) return `[${(value as unknown[]).map((v) => encodeGo(v, shape.slice)).join(",")}]`;
  const obj = value as Record<string, unknown>;
  if ("map" in shape) return `{${Object.keys(obj).sort().map((k) => `${goJson(k)}:${encodeGo(obj[k], shape.map)}`).join(",")}}`;
  const parts: string[] = [];
  for (const [name, fieldShape, omit] of shape.fields) {
    const v = obj[name];
    // omitempty never leaves out a struct (or a time.Time, which is one)
    if (omit && (typeof fieldShape === "string" ? fieldShape !== "time" : !("struct" in fieldShape)) && isEmpty(v)) continue;
    parts.push(`${goJson(name)}:${encodeGo(v, fieldShape)}`);
  }
  return `{${parts.join(",")}}`;
}

/** Reads and writes back in one step: JSON text or value → Go's bytes. */
export function normalizeGo(value: unknown, shape: Shape): string {
  return encodeGo(decodeGo(value, shape), shape);
}

export interface Operation {
  module: string;
  parameters: unknown;
  is_compressed: boolean;
  want_compressed: boolean;
}

/** A mig.Action after decodeGo (the fields this runner touches). */
export interface Action {
  id: number;
  name: string;
  target: string;
  validfrom: string;
  expireafter: string;
  operations: Operation[] | null;
  pgpsignatures: string[] | null;
  syntaxversion: number;
  [field: string]: unknown;
}

/** A mig.RunnerResult after decodeGo. */
export interface RunnerResult {
  action: Action;
  commands: unknown[] | null;
  name: string;
  plugin: string;
}
