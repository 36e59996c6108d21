import { jsonParser } from "stream-json/parser.js";
import Assembler from "stream-json/assembler.js";
import { getManyValues, isMany } from "stream-chain/defs.js";
import type { RuleResult, RuleStatus, Severity } from "../../types.js";

type Token = { name: string; value?: unknown };

/** One Docker Bench check as found in any of its output shapes. */
export interface DockerBenchCheck {
  id: string;
  desc?: string;
  result?: string;
  details?: string;
  items?: string[];
  remediation?: string;
  "remediation-impact"?: string;
  /** Test group (CIS section) the check was listed under. */
  group?: string;
}

export interface DockerBenchContext {
  target: string;
  startedAt?: string;
}

/** Docker Bench result word → RuleResult status. CIS counts a WARN as a failed check. */
export const DOCKER_BENCH_STATUS: Readonly<Record<string, RuleStatus>> = {
  PASS: "pass",
  WARN: "fail",
  INFO: "warn",
  NOTE: "skip",
};

/** Top-level keys that are not checks (the last three only in the PatchMon spec's shape). */
export const META_KEYS = new Set(["dockerbenchsecurity", "dockerbenchsec_version", "start", "end", "checks", "score", "tests", "passed", "warnings", "info"]);
const RESULT_WORD = /^(PASS|WARN|INFO|NOTE)\b:?\s*(.*)$/s;

/** CIS Docker Benchmark sections 1 (host), 2 (daemon) and 5 (runtime) hold the high-impact checks. */
export function severityOfSection(section: string | undefined): Severity {
  return section === "1" || section === "2" || section === "5" ? "high" : "medium";
}

export function toRuleResult(check: DockerBenchCheck, ctx: DockerBenchContext): RuleResult {
  const raw = (check.result ?? "").toUpperCase();
  const section = check.group ?? check.id.split(".")[0];
  const out: RuleResult = { rule_ref: check.id, title: check.desc ?? "", severity: severityOfSection(section) } as RuleResult;
  if (section) out.section = section;
  out.status = DOCKER_BENCH_STATUS[raw] ?? ("warn" satisfies RuleStatus);
  out.raw_status = raw || "INFO";
  const finding = check.details ?? (check.items?.length ? check.items.join(" ") : undefined);
  if (finding) out.finding = finding;
  if (check.remediation) out.remediation = check["remediation-impact"] ? `${check.remediation} Impact: ${check["remediation-impact"]}` : check.remediation;
  out.scanner = "docker-bench";
  out.target = ctx.target;
  if (ctx.startedAt) out.started_at = ctx.startedAt;
  return out;
}

export function epochToIso(value: unknown): string | undefined {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000).toISOString() : undefined;
}

/**
 * Token-level reader for Docker Bench's JSON log (all three generations),
 * fed one line at a time. Checks are assembled one by one, so only the
 * current check is ever in memory. Gen 0's duplicate keys (one per
 * offending item) are kept, not collapsed the way JSON.parse would.
 */
export class DockerBenchJsonReader {
  ready: DockerBenchCheck[] = [];
  startedAt?: string;
  declaredChecks?: number;
  /**
   * Lines since the current check began, but blank ones: what recovery starts
   * from if the JSON breaks; `index` counts the lines written (see linesWritten).
   */
  openLines: { text: string; index: number }[] = [];
  /** Lines written so far, blank ones included. */
  linesWritten = 0;

  private readonly parse = jsonParser({ packValues: true, streamValues: false });
  private path: (string | number)[] = [];
  private containers: ("object" | "array")[] = [];
  private key: string | null = null;
  private group: string | undefined;
  private assembler: Assembler | null = null;
  private assemblerDepth = 0;

  /** Test group being read, if any. */
  get currentGroup(): string | undefined {
    return this.group;
  }

  /** Depth of open JSON containers; 0 once the document is complete. */
  get depth(): number {
    return this.containers.length;
  }

  /** True while inside a check object. */
  get insideCheck(): boolean {
    return this.assembler !== null;
  }

  /** Throws (stream-json's message) when the line breaks the JSON. */
  writeLine(line: string): void {
    const index = this.linesWritten++;
    // a blank line holds no token: neither parsed nor kept (16 MB of blank lines took 31 s and 218 MB)
    if (isBlank(line)) return;
    this.openLines.push({ text: line, index });
    // a long line in slices: the parser's tokens for a slice are all held at once (10^6 '[' made 2×10^6)
    for (let from = 0; from < line.length; from += PARSE_SLICE) this.parseText(line.length <= PARSE_SLICE ? line : line.slice(from, from + PARSE_SLICE));
    this.parseText("\n");
  }

  private parseText(text: string): void {
    const produced = this.parse(text) as unknown;
    if (typeof produced === "symbol") return;
    const tokens = (isMany(produced) ? getManyValues(produced) : [produced]) as Token[];
    for (const token of tokens) this.consume(token);
  }

  private consume(token: Token): void {
    if (this.assembler) {
      this.assembler.consume(token as never);
      if (token.name === "endObject" || token.name === "endArray") this.pop();
      else if (token.name === "startObject") this.push("object");
      else if (token.name === "startArray") this.push("array");
      if (this.containers.length < this.assemblerDepth) {
        this.finishCheck(this.assembler.current as Record<string, unknown>);
        this.assembler = null;
        this.key = null;
      }
      return;
    }
    switch (token.name) {
      case "startObject":
        if (this.isCheckPosition()) {
          this.assembler = new Assembler();
          this.assembler.consume(token as never);
          this.push("object");
          this.assemblerDepth = this.containers.length;
          this.openLines = this.openLines.slice(-1);
          return;
        }
        this.push("object");
        return;
      case "startArray":
        this.push("array");
        return;
      case "endObject":
      case "endArray":
        this.pop();
        this.key = null;
        return;
      case "keyValue":
        this.key = token.value as string;
        return;
      default:
        this.scalar(token.value);
        this.key = null;
    }
  }

  /** A check object sits in tests[].results[] (real logs) or tests[].items[] (the PatchMon spec's shape). */
  private isCheckPosition(): boolean {
    const p = this.path;
    return p.length === 3 && p[0] === "tests" && (p[2] === "results" || p[2] === "items") && this.containers[3] === "array";
  }

  private scalar(value: unknown): void {
    const p = this.path;
    if (this.containers.length === 1 && this.key !== null) {
      const key = this.key;
      if (key === "start") this.startedAt = epochToIso(value);
      else if (key === "checks") this.declaredChecks = Number(value);
      else if (!META_KEYS.has(key) && typeof value === "string") this.ready.push(gen0Check(key, value));
      if (!META_KEYS.has(key)) this.openLines = [];
    } else if (this.containers.length === 3 && p[0] === "tests" && this.key === "id") {
      this.group = String(value);
    }
  }

  private finishCheck(obj: Record<string, unknown>): void {
    this.openLines = [];
    const id = typeof obj.id === "string" || typeof obj.id === "number" ? String(obj.id) : "";
    if (!id) return;
    const check: DockerBenchCheck = { id, group: this.group };
    for (const k of ["desc", "result", "details", "remediation", "remediation-impact"] as const) {
      if (typeof obj[k] === "string") check[k] = obj[k] as string;
    }
    if (Array.isArray(obj.items)) check.items = obj.items.map(String);
    this.ready.push(check);
  }

  private push(kind: "object" | "array"): void {
    if (this.containers.length) this.path.push(this.containers[this.containers.length - 1] === "array" ? 0 : (this.key ?? ""));
    this.containers.push(kind);
    this.key = null;
  }

  private pop(): void {
    this.containers.pop();
    this.path.pop();
    // leaving a test group
    if (this.containers.length === 2) this.group = undefined;
  }
}

/** Characters of a line handed to the JSON parser at once. */
const PARSE_SLICE = 64 * 1024;

/** True if the line holds only JSON whitespace. */
function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return false;
  }
  return true;
}

/** Gen 0: `"4.6": "WARN: [example:latest]"`, or raw data with no result word (`"1.4": "docker:x:999:..."`). */
export function gen0Check(id: string, value: string): DockerBenchCheck {
  const m = RESULT_WORD.exec(value);
  if (m) return m[2] ? { id, result: m[1], details: m[2] } : { id, result: m[1] };
  return { id, result: "INFO", details: value };
}
