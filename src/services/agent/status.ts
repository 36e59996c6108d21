import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProgressMessage } from "./progress.js";

export interface AgentStatus {
  pid: number;
  version: string;
  started_at: string;
  updated_at: string;
  stopped_at?: string;
  mode: string;
  connected: boolean;
  server: string;
  schedules: Record<string, { trigger: string; next: string | null }>;
  /** The scan running now, with its latest progress message. */
  current: (ProgressMessage & { scanner: string; scan_type: string; started_at: string }) | null;
  /**
   * The phase changes of the scan named by trail_of (its started_at and
   * profile), in order, so that `status --follow` misses none however seldom
   * it reads (per-rule messages are only in `current`: the file is rewritten
   * on each, so it stays small). Kept until the next scan starts.
   */
  trail?: ProgressEntry[];
  trail_of?: string;
  /** How the last scan ended. */
  last: (ProgressMessage & { scanner: string; scan_type: string; started_at: string }) | null;
  outbox: { dir: string; count: number; bytes: number; max_bytes: number; last_error: string | null; last_error_at: string | null };
  last_upload_at: string | null;
  compliance_hash: string | null;
  scanner_info: Record<string, unknown> | null;
}

export type ProgressEntry = ProgressMessage & { scanner: string; scan_type: string; started_at: string };

export const STATUS_FILE = "status.json";
/** A bound on the trail, whatever a scanner reports. */
export const TRAIL_MAX = 100;

/** Which scan a progress entry belongs to. */
export function scanKey(p: { started_at: string; profile_name?: string }): string {
  return `${p.started_at}|${p.profile_name ?? ""}`;
}

/** The running agent's status, rewritten whole (temp name, rename) on every change so a reader never sees half of it. */
export class StatusFile {
  constructor(
    private readonly dir: string,
    readonly status: AgentStatus,
  ) {}

  get path(): string {
    return join(this.dir, STATUS_FILE);
  }

  update(change: Partial<AgentStatus>): void {
    Object.assign(this.status, change, { updated_at: new Date().toISOString() });
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(this.status, null, 1)}\n`, { mode: 0o644 });
      renameSync(tmp, this.path);
    } catch {
      // the status is for people; a full disk must not stop the agent
    }
  }
}

export function readStatus(stateDir: string): AgentStatus | null {
  try {
    return JSON.parse(readFileSync(join(stateDir, STATUS_FILE), "utf8")) as AgentStatus;
  } catch {
    return null;
  }
}

export { processAlive as isAlive } from "../../util/process-alive.js";

/** `compliance-agent status` as text, one fact a line. */
export function formatStatus(s: AgentStatus, alive: boolean): string {
  const lines: string[] = [];
  lines.push(alive && !s.stopped_at ? `agent: running (pid ${s.pid}, since ${s.started_at}), compliance ${s.mode}` : `agent: not running (last seen ${s.stopped_at ?? s.updated_at})`);
  lines.push(`server: ${s.server} (websocket ${s.connected && alive ? "connected" : "not connected"})`);
  for (const [name, sch] of Object.entries(s.schedules)) lines.push(`schedule ${name}: ${sch.trigger}, next ${sch.next ?? "-"}`);
  if (s.current) lines.push(`scan now: ${progressLine(s.current)}`);
  else lines.push("scan now: none");
  if (s.last) lines.push(`last scan: ${progressLine(s.last)}`);
  const o = s.outbox;
  lines.push(`outbox: ${o.count} scan(s), ${(o.bytes / 1024).toFixed(1)} KiB of ${(o.max_bytes / 1024 / 1024).toFixed(0)} MiB in ${o.dir}${o.last_error ? `; last error ${o.last_error_at}: ${o.last_error}` : ""}`);
  lines.push(`last upload: ${s.last_upload_at ?? "-"}; compliance hash ${s.compliance_hash ?? "-"}`);
  return `${lines.join("\n")}\n`;
}

export function progressLine(p: ProgressMessage & { scanner: string; scan_type: string }): string {
  return `${p.scanner} ${p.profile_name} (${p.scan_type}${p.request_id ? `, request ${p.request_id}` : ""}): ${p.phase} ${p.progress}% ${p.message}${p.error ? ` — ${p.error}` : ""} [${p.timestamp}]`;
}
