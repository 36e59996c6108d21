export type Phase = "started" | "evaluating" | "parsing" | "sending" | "completed" | "failed" | "cancelled";

/** The real agent's numbers for each phase; `evaluating` moves from 15 towards 80 rule by rule. */
export const PHASE_PROGRESS: Record<Phase, number> = { started: 5, evaluating: 15, parsing: 80, sending: 90, completed: 100, failed: 0, cancelled: 0 };

export interface ProgressMessage {
  type: "compliance_scan_progress";
  phase: Phase;
  profile_name: string;
  message: string;
  progress: number;
  error: string;
  timestamp: string;
  /** The spec's compliance_trigger request, echoed back. */
  request_id?: string;
  /** Evaluating: rules done so far and the profile's selected rules (when known). */
  rules_done?: number;
  rules_total?: number;
}

export interface ProgressSink {
  /** Sends over the WebSocket; false when not connected. */
  send(message: ProgressMessage): boolean;
  log(line: string): void;
  status(message: ProgressMessage): void;
}

/** Messages kept while the WebSocket is down (the real agent keeps 10 too). */
const OFFLINE_KEEP = 10;

/**
 * Reports a scan's progress three ways: compliance_scan_progress messages
 * to the server, lines on stderr (the log), and the status file that
 * `compliance-agent status` reads. Rule-by-rule progress is sent each time
 * the percentage moves and logged every 10%, so a 1,600-rule profile gives
 * at most ~65 messages, not 1,600.
 */
export class ProgressReporter {
  private readonly offline: ProgressMessage[] = [];
  private lastPercent = -1;
  private lastLoggedTenth = -1;

  constructor(
    private readonly sink: ProgressSink,
    private readonly now: () => number,
  ) {}

  emit(o: { phase: Phase; profile: string; message: string; error?: string; requestId?: string; progress?: number; rulesDone?: number; rulesTotal?: number }): ProgressMessage {
    const msg: ProgressMessage = {
      type: "compliance_scan_progress",
      phase: o.phase,
      profile_name: o.profile,
      message: o.message,
      progress: o.progress ?? PHASE_PROGRESS[o.phase],
      error: o.error ?? "",
      timestamp: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
      ...(o.requestId ? { request_id: o.requestId } : {}),
      ...(o.rulesDone !== undefined ? { rules_done: o.rulesDone, rules_total: o.rulesTotal } : {}),
    };
    if (o.phase !== "evaluating" || o.rulesDone === undefined) {
      this.lastPercent = -1;
      this.lastLoggedTenth = -1;
    }
    this.sink.status(msg);
    if (!this.sink.send(msg)) {
      this.offline.push(msg);
      if (this.offline.length > OFFLINE_KEEP) this.offline.shift();
    }
    this.sink.log(`${o.profile}: ${o.phase} ${msg.progress}%: ${o.message}${o.error ? ` (${o.error})` : ""}`);
    return msg;
  }

  /** Rule n of m evaluated: a message when the percentage moves. */
  rule(o: { profile: string; n: number; m: number | null; ruleId: string; requestId?: string }): void {
    const m = o.m !== null && o.m >= o.n ? o.m : null;
    const progress = m ? 15 + Math.floor((65 * o.n) / m) : 15;
    const tenth = m ? Math.floor((10 * o.n) / m) : Math.floor(o.n / 100);
    const msg: ProgressMessage = {
      type: "compliance_scan_progress",
      phase: "evaluating",
      profile_name: o.profile,
      message: `Evaluating rule ${o.n}${m ? ` of ${m}` : ""}: ${o.ruleId}`,
      progress,
      error: "",
      timestamp: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
      ...(o.requestId ? { request_id: o.requestId } : {}),
      rules_done: o.n,
      ...(m ? { rules_total: m } : {}),
    };
    if (progress !== this.lastPercent || !m) {
      // without m, the status still follows each rule; the server hears every 100th
      this.sink.status(msg);
      if (progress !== this.lastPercent || o.n % 100 === 0) this.sink.send(msg);
      this.lastPercent = progress;
    }
    if (tenth !== this.lastLoggedTenth) {
      this.lastLoggedTenth = tenth;
      this.sink.log(`${o.profile}: evaluating ${progress}%: ${msg.message}`);
    }
  }

  /** On reconnect: what was said while offline, oldest first. */
  flushOffline(): void {
    while (this.offline.length) {
      if (!this.sink.send(this.offline[0])) return;
      this.offline.shift();
    }
  }
}
