/** Record kinds that flow between the commands. */

/** A parsed JSON object whose shape is not known (yet). */
export type Json = Record<string, unknown>;

export type Severity = "unknown" | "info" | "low" | "medium" | "high" | "critical";
export type RuleStatus = "pass" | "fail" | "warn" | "skip" | "notapplicable" | "error";
export type Scanner = "openscap" | "docker-bench";

export interface Ident {
  system: string;
  value: string;
}

export interface Reference {
  href: string;
  value: string;
}

/** One line of xccdf2rules / dockerbench2rules output (../shared/schemas/rule-result.schema.json). */
export interface RuleResult {
  rule_ref: string;
  title: string;
  description?: string;
  rationale?: string;
  severity: Severity;
  section?: string;
  status: RuleStatus;
  raw_status?: string;
  finding?: string;
  actual?: string;
  expected?: string;
  remediation?: string;
  idents?: Ident[];
  references?: Reference[];
  scanner: Scanner;
  target: string;
  profile?: { id?: string; title?: string };
  benchmark?: { id?: string; title?: string; version?: string };
  test_result_id?: string;
  started_at?: string;
  completed_at?: string;
}

/** A MozDef compliance item: the `details` of a `complianceitems` event (../shared/spec/mig.md §2.2). */
export interface ComplianceItem {
  utctimestamp: string;
  target: string;
  compliance: boolean;
  link: string;
  tags: Record<string, string> | null;
  policy: { name: string; url: string; level: string };
  check: { ref: string; description: string; name: string; location: string; test: { type: string; value: string } };
  /** Agent addresses carried for enrich-owner (runner2compliance --with-addresses); not part of the MozDef item. */
  agent_addresses?: string[];
}

/** A mig-runner result as the runner hands it to a plugin (MIG runner.go). Numbers keep their source text. */
export interface RunnerResult {
  action: MigAction;
  commands: MigCommand[] | null;
  name: string;
  plugin: string;
}

export interface MigAction {
  id: string | number;
  name: string;
  description?: { author?: string; email?: string; url?: string; revision?: string | number };
  threat?: { ref?: string; level?: string; family?: string; type?: string };
  operations?: { module: string; parameters?: unknown }[];
}

export interface MigCommand {
  id: string | number;
  action: MigAction;
  agent: { name: string; tags?: Record<string, unknown> | null; environment?: { addresses?: string[] } };
  status: string;
  results: MigModuleResult[] | null;
  starttime?: string;
  finishtime?: string;
}

export interface MigModuleResult {
  foundanything: boolean;
  success: boolean;
  elements: unknown;
  statistics?: unknown;
  errors: string[] | null;
}

/** One entry of the file module's `elements[label]` list. */
export interface MatchedFile {
  file: string;
  search: Partial<Record<"paths" | "names" | "sizes" | "modes" | "mtimes" | "contents" | "md5" | "sha1" | "sha2" | "sha3", string[]>> & { description?: string };
}

/** One result inside a scan payload. */
export interface ScanResult {
  rule_ref: string;
  title: string;
  description?: string;
  rationale?: string;
  severity: string;
  section?: string;
  status: RuleStatus;
  finding?: string;
  actual?: string;
  expected?: string;
  remediation?: string;
}

/** The PatchMon compliance spec's scan payload (../shared/schemas/scan-payload.schema.json). */
export interface ScanPayload {
  profile: { name: string; type: Scanner; version?: string };
  started_at: string;
  completed_at: string;
  status: "completed" | "failed";
  summary: { total_rules: number; passed: number; failed: number; warnings: number; skipped: number; errors: number; score: number };
  results: ScanResult[];
  raw_output?: string;
}

/** One scan as the real PatchMon server takes it (agent pkg/models/compliance.go). */
export interface PatchmonScan {
  profile_name: string;
  profile_type: Scanner;
  status: "completed" | "failed";
  score: number;
  total_rules: number;
  passed: number;
  failed: number;
  warnings: number;
  skipped: number;
  not_applicable: number;
  started_at: string;
  completed_at: string;
  error?: string;
  results: Record<string, unknown>[];
}

/** The body the real PatchMon server accepts at POST /api/v1/compliance/scans (no compliance_hash). */
export interface PatchmonPayload {
  hostname: string;
  machine_id: string;
  agent_version: string;
  os_info: { family: string; name: string; version: string };
  scanner_info?: Record<string, unknown>;
  scans: PatchmonScan[];
}
