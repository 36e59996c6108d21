import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PipeError } from "../../errors.js";
import { packageVersion } from "../../cli/fast-path.js";
import { which } from "../../scanners/scap-content.js";
import { clampInterval, type AgentConfig } from "./config.js";
import { systemClock, type Clock } from "./clock.js";
import { Schedule, type Trigger } from "./schedule.js";
import { Outbox, OutboxLock, writeDurably, type StoredScan } from "./outbox.js";
import { Uploader } from "./upload.js";
import { Courier } from "./courier.js";
import { AgentSocket } from "./ws-client.js";
import { ProgressReporter, type Phase, type ProgressMessage } from "./progress.js";
import { StatusFile, TRAIL_MAX, scanKey, type AgentStatus } from "./status.js";
import { detectScanners, resolveProfile, validProfileId, type Detected } from "./capabilities.js";
import type { ScanRequest, ScannerKind } from "./scan-runner.js";
import { ScanStopped } from "../../scanners/run.js";
import { complianceHash } from "./hash.js";

export type ScanType = StoredScan["scan_type"];

interface Running {
  ctrl: AbortController;
  type: ScanType;
  done: Promise<void>;
}

/** How one scan ended, for `scan` and the tests. */
export interface ScanEnd {
  phase: Phase;
  ids: string[];
  error?: string;
}

export interface AgentOptions {
  clock?: Clock;
  /** One line on stderr. */
  log?: (line: string) => void;
}

const LAST_SENT = "last-sent.json";
const DAY_MINUTES = 1440;
const SEND_GRACE_MS = 5_000;

/**
 * The compliance agent: schedules, on-demand scans over the WebSocket, one
 * scan at a time, progress, the durable outbox and its courier, the ping
 * with the compliance hash. `start()` runs it as a service; `scanOnce()`
 * is `compliance-agent scan`.
 */
export class ComplianceAgent {
  readonly clock: Clock;
  readonly outbox: Outbox;
  readonly lock: OutboxLock;
  private readonly log: (line: string) => void;
  private uploader: Uploader | null = null;
  private courier: Courier | null = null;
  private socket: AgentSocket | null = null;
  private readonly schedules = new Map<string, Schedule>();
  private readonly progress: ProgressReporter;
  private status: StatusFile | null = null;
  private running: Running | null = null;
  private detected: Detected | null = null;
  private detecting: Promise<void> | null = null;
  private lastSent: { scan: StoredScan; hash: string } | null = null;
  /** Scans just stored whose first upload attempt has not reported yet: id → how to finish the progress. */
  private readonly awaiting = new Map<string, { profile: string; score: number; requestId?: string; scanner: string; type: ScanType }>();
  private stopped = false;
  /** Scans the server refused for good (set aside in rejected/). */
  readonly refused = new Set<string>();

  constructor(
    readonly cfg: AgentConfig,
    opts: AgentOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? ((line) => process.stderr.write(`compliance-agent: ${line}\n`));
    this.outbox = new Outbox(cfg.outboxDir, cfg.outboxMaxBytes, (m) => this.log(m));
    this.lock = new OutboxLock(cfg.outboxDir);
    this.progress = new ProgressReporter(
      {
        send: (m) => this.socket?.send(m as unknown as Record<string, unknown>) ?? false,
        log: (line) => this.log(line),
        status: (m) => this.onProgressStatus(m),
      },
      () => this.clock.now(),
    );
  }

  /** State and outbox directories; the last delivered scan (for the hash gate). */
  initStorage(): void {
    try {
      mkdirSync(this.cfg.stateDir, { recursive: true, mode: 0o700 });
      this.outbox.init();
    } catch (err) {
      throw new PipeError("E_IO", `cannot use ${this.cfg.stateDir} (compliance_agent.state_dir): ${(err as Error).message}`);
    }
    try {
      this.lastSent = JSON.parse(readFileSync(join(this.cfg.stateDir, LAST_SENT), "utf8"));
    } catch {
      this.lastSent = null;
    }
  }

  private makeCourier(persistent = true): Courier {
    const cfg = this.cfg;
    this.uploader = new Uploader({
      server: cfg.server!,
      apiId: cfg.apiId!,
      apiKey: cfg.apiKey!,
      skipSslVerify: cfg.skipSslVerify,
      perWindow: cfg.uploadsPerWindow,
      windowMs: cfg.uploadWindowMs,
      maxBodyBytes: cfg.maxBodyBytes,
      pacingFile: join(cfg.stateDir, "upload-times.json"),
      clock: this.clock,
      warn: (m) => this.log(m),
    });
    return new Courier(this.outbox, this.uploader, this.clock, {
      accepted: (scan) => this.onAccepted(scan),
      removed: (scan) => this.onRemoved(scan),
      failed: (scan, why, kind) => this.onSendFailed(scan, why, kind),
      log: (m) => this.log(m),
    }, persistent);
  }

  // ---- the service ----

  /** Runs as a service until stop(). Throws (exit 1) when another agent already sends from this outbox. */
  async start(): Promise<void> {
    this.initStorage();
    const holder = this.lock.acquire();
    if (holder !== null) throw new PipeError("E_IO", `another compliance-agent (pid ${holder}) is running with the outbox ${this.cfg.outboxDir}`);
    const cfg = this.cfg;
    this.status = new StatusFile(cfg.stateDir, this.initialStatus());
    this.courier = this.makeCourier();
    this.socket = new AgentSocket({
      server: cfg.server!,
      apiId: cfg.apiId!,
      apiKey: cfg.apiKey!,
      skipSslVerify: cfg.skipSslVerify,
      pingMs: cfg.wsPingMs,
      readDeadlineMs: cfg.wsReadDeadlineMs,
      maxBackoffMs: cfg.reconnectMaxMs,
      onMessage: (m) => this.onMessage(m),
      onOpen: () => {
        this.log("websocket: connected");
        this.status?.update({ connected: true });
        this.progress.flushOffline();
        this.courier?.kick();
      },
      onClose: (why) => {
        this.log(`websocket: lost (${why})`);
        this.status?.update({ connected: false });
      },
      log: (m) => this.log(m),
    });
    this.startSchedules();
    this.addSchedule("capabilities", { kind: "interval", minutes: DAY_MINUTES, firstDelayMs: 0 }, () => void this.refreshCapabilities());
    this.addSchedule("ping", { kind: "interval", minutes: cfg.pingMinutes, firstDelayMs: 0 }, () => void this.ping());
    if (this.stopped) return;
    this.socket.start();
    const { count } = this.outbox.usage();
    this.log(`started: compliance ${cfg.mode}, server ${cfg.server}, outbox ${cfg.outboxDir} (${count} scan(s) waiting)`);
    this.publishOutbox();
    this.courier.kick();
  }

  /** SIGTERM: stops the schedules, cancels a running scan, finishes or parks the current send, closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.schedules.values()) s.stop();
    if (this.running) {
      this.running.ctrl.abort("agent stopping");
      await this.running.done;
    }
    await this.courier?.stop(SEND_GRACE_MS);
    this.socket?.stop();
    await this.uploader?.close();
    this.publishOutbox();
    this.status?.update({ stopped_at: new Date(this.clock.now()).toISOString(), connected: false, current: null });
    this.lock.release();
    this.log("stopped");
  }

  private initialStatus(): AgentStatus {
    const now = new Date(this.clock.now()).toISOString();
    return {
      pid: process.pid,
      version: packageVersion(),
      started_at: now,
      updated_at: now,
      mode: this.cfg.mode,
      connected: false,
      server: this.cfg.server ?? "",
      schedules: {},
      current: null,
      last: null,
      outbox: { dir: this.cfg.outboxDir, count: 0, bytes: 0, max_bytes: this.cfg.outboxMaxBytes, last_error: null, last_error_at: null },
      last_upload_at: null,
      compliance_hash: this.lastSent?.hash ?? null,
      scanner_info: null,
    };
  }

  /** A cron schedule per scanner that has one; the interval for the others when compliance is `true`. */
  private startSchedules(): void {
    const cfg = this.cfg;
    if (cfg.mode === "off") return;
    const plans: [ScannerKind, { enabled: boolean; schedule: string | null }][] = [
      ["openscap", cfg.openscap],
      ["docker-bench", cfg.dockerBench],
    ];
    for (const [scanner, plan] of plans) {
      if (!plan.enabled) continue;
      if (plan.schedule) this.addSchedule(scanner, { kind: "cron", expr: plan.schedule }, () => void this.scheduled(scanner));
      else if (cfg.mode === "on") this.addSchedule(scanner, { kind: "interval", minutes: cfg.intervalMinutes, firstDelayMs: cfg.firstScanDelayMs }, () => void this.scheduled(scanner));
    }
  }

  private addSchedule(name: string, trigger: Trigger, run: () => void): void {
    const s = new Schedule(name, trigger, this.clock, () => {
      run();
      this.publishSchedules();
    });
    this.schedules.set(name, s);
    s.start();
    this.publishSchedules();
  }

  private publishSchedules(): void {
    const out: AgentStatus["schedules"] = {};
    for (const [name, s] of this.schedules) {
      if (name !== "openscap" && name !== "docker-bench") continue;
      out[name] = { trigger: s.minutes !== null ? `every ${s.minutes} min` : (name === "openscap" ? this.cfg.openscap.schedule : this.cfg.dockerBench.schedule) ?? "", next: s.next === null ? null : new Date(s.next).toISOString() };
    }
    this.status?.update({ schedules: out });
  }

  private async scheduled(scanner: ScannerKind): Promise<void> {
    if (this.running) {
      this.log(`${scanner}: scheduled scan skipped: a scan is already running (the next one is at its next slot)`);
      return;
    }
    const req = scanner === "openscap" ? await this.openscapRequest(undefined) : this.dockerRequest();
    if ("error" in req) {
      this.log(`${scanner}: scheduled scan not run: ${req.error}`);
      return;
    }
    await this.runScans([req], "scheduled");
  }

  // ---- messages from the server ----

  onMessage(m: Record<string, unknown>): void {
    switch (m.type) {
      case "compliance_scan":
        void this.onComplianceScan(m);
        return;
      case "compliance_trigger":
        void this.onTrigger(m);
        return;
      case "compliance_scan_cancel":
        if (this.running) {
          this.log("the server cancelled the running scan");
          this.running.ctrl.abort("cancelled");
        } else this.log("cancel from the server: no scan is running");
        return;
      case "settings_update":
        this.onSettings(m);
        return;
      default:
        // messages for the package agent (report_now, apply_config, …) are not this agent's
        return;
    }
  }

  private onSettings(m: Record<string, unknown>): void {
    const interval = m.compliance_scan_interval;
    if (typeof interval === "number" && Number.isFinite(interval) && interval > 0) {
      const minutes = clampInterval(interval);
      this.cfg.intervalMinutes = minutes;
      for (const name of ["openscap", "docker-bench"]) this.schedules.get(name)?.setInterval(minutes);
      this.log(`settings_update: compliance scan interval ${minutes} min${minutes !== interval ? ` (asked ${interval}, clamped to 60-10080)` : ""}`);
    }
    const ping = m.update_interval;
    if (typeof ping === "number" && Number.isFinite(ping) && ping > 0) {
      this.cfg.pingMinutes = ping;
      this.schedules.get("ping")?.setInterval(ping);
    }
    this.publishSchedules();
  }

  private async onComplianceScan(m: Record<string, unknown>): Promise<void> {
    const type = m.profile_type === undefined || m.profile_type === null || m.profile_type === "" ? "all" : m.profile_type;
    const refuse = (why: string) => this.progress.emit({ phase: "failed", profile: typeof m.profile_id === "string" ? m.profile_id.slice(0, 256) : String(type), message: `Scan refused: ${why}`, error: why });
    if (this.cfg.mode === "off") return void refuse("compliance is off in config.yml (integrations.compliance: false)");
    if (type !== "all" && type !== "openscap" && type !== "docker-bench") return void refuse(`unknown profile_type ${JSON.stringify(type).slice(0, 60)}`);
    if (m.profile_id !== undefined && m.profile_id !== null && !validProfileId(m.profile_id)) return void refuse("invalid profile_id (letters, digits, _ . - only, at most 256)");
    const profile = (m.profile_id as string | null | undefined) ?? undefined;
    const reqs: ScanRequest[] = [];
    const options = { remediate: m.enable_remediation === true, fetchRemoteResources: m.fetch_remote_resources === true };
    const wantOpenscap = type === "openscap" || (type === "all" && (typeof m.openscap_enabled === "boolean" ? m.openscap_enabled : this.cfg.openscap.enabled));
    const wantDocker = type === "docker-bench" || (type === "all" && (typeof m.docker_bench_enabled === "boolean" ? m.docker_bench_enabled : this.cfg.dockerBench.enabled));
    if (wantOpenscap) {
      const r = await this.openscapRequest(profile);
      if ("error" in r) {
        if (type === "openscap") return void refuse(r.error);
        this.log(`openscap: left out of the scan: ${r.error}`);
      } else reqs.push({ ...r, ...options });
    }
    if (wantDocker) {
      const r = this.dockerRequest();
      if ("error" in r) {
        if (type === "docker-bench") return void refuse(r.error);
        this.log(`docker-bench: left out of the scan: ${r.error}`);
      } else reqs.push(r);
    }
    if (!reqs.length) return void refuse("no scanner is enabled and available");
    await this.runScans(reqs, "on-demand");
  }

  private async onTrigger(m: Record<string, unknown>): Promise<void> {
    const requestId = typeof m.request_id === "string" ? m.request_id.slice(0, 200) : undefined;
    const name = typeof m.profile === "string" ? m.profile : "";
    const refuse = (why: string) => this.progress.emit({ phase: "failed", profile: name.slice(0, 256) || "?", message: `Scan refused: ${why}`, error: why, requestId });
    if (this.cfg.mode === "off") return void refuse("compliance is off in config.yml");
    if (!name) return void refuse("compliance_trigger without a profile");
    await this.ensureDetected();
    const r = resolveProfile(name, this.detected);
    if ("error" in r) return void refuse(r.error);
    let req: ScanRequest;
    if (r.scanner === "docker-bench") {
      const d = this.dockerRequest();
      if ("error" in d) return void refuse(d.error);
      req = d;
    } else req = { scanner: "openscap", profile: r.profile, datastream: this.cfg.openscap.datastream ?? r.datastream, tailoring: this.cfg.openscap.tailoring };
    await this.runScans([req], "on-demand", requestId);
  }

  private async openscapRequest(profile: string | undefined): Promise<ScanRequest | { error: string }> {
    const p = profile ?? this.cfg.openscap.profile ?? (await this.defaultProfile());
    if (!p) return { error: "no profile: set compliance.openscap.profile in config.yml" };
    return { scanner: "openscap", profile: p, datastream: this.cfg.openscap.datastream, tailoring: this.cfg.openscap.tailoring };
  }

  /** Without a configured profile: CIS level 1 server, else the `standard` profile, of the content matching this host. */
  private async defaultProfile(): Promise<string | undefined> {
    await this.ensureDetected();
    const mine = (this.detected?.capabilities.openscap.available_profiles ?? []).filter((p) => p.matches_host || p.file_path === this.cfg.openscap.datastream);
    return (mine.find((p) => p.id.endsWith("_cis_level1_server")) ?? mine.find((p) => p.id.endsWith("_profile_standard")) ?? mine[0])?.id;
  }

  private dockerRequest(): ScanRequest | { error: string } {
    const d = this.cfg.dockerBench;
    if (!d.script && !which("docker")) return { error: "Docker Bench not available: no docker on PATH and no compliance.docker_bench.script" };
    return { scanner: "docker-bench", script: d.script, image: d.image };
  }

  // ---- scans ----

  /**
   * Runs scans one at a time. An on-demand scan stops a running scheduled
   * one first; an on-demand scan while another on-demand scan runs is
   * refused (the server re-sends it later).
   */
  async runScans(reqs: ScanRequest[], type: ScanType, requestId?: string): Promise<ScanEnd[]> {
    if (this.running) {
      if (type === "on-demand" && this.running.type === "scheduled") {
        this.log("an on-demand scan replaces the running scheduled scan");
        this.running.ctrl.abort("superseded by an on-demand scan");
        await this.running.done;
      } else if (type === "on-demand") {
        const why = "a scan is already running";
        this.progress.emit({ phase: "failed", profile: reqs[0].profile ?? reqs[0].scanner, message: `Scan refused: ${why}`, error: why, requestId });
        return [{ phase: "failed", ids: [], error: why }];
      } else return [];
    }
    if (this.running || this.stopped) return [];
    const ctrl = new AbortController();
    let finish!: () => void;
    this.running = { ctrl, type, done: new Promise<void>((r) => (finish = r)) };
    const ends: ScanEnd[] = [];
    try {
      for (const req of reqs) {
        if (ctrl.signal.aborted) break;
        ends.push(await this.runOne(req, type, ctrl.signal, requestId));
      }
    } finally {
      this.running = null;
      finish();
    }
    return ends;
  }

  private async runOne(req: ScanRequest, type: ScanType, signal: AbortSignal, requestId?: string): Promise<ScanEnd> {
    let profile = req.scanner === "docker-bench" ? "docker-bench-security" : (req.profile ?? "openscap");
    const startedAt = new Date(this.clock.now()).toISOString();
    this.currentMeta = { scanner: req.scanner, scan_type: type, started_at: startedAt };
    const emit = (phase: Phase, message: string, extra: { error?: string; progress?: number } = {}) => this.progress.emit({ phase, profile, message, requestId, ...extra });
    try {
      // the readers and payload builder load with the first scan: an idle agent does not hold them
      const { runScan } = await import("./scan-runner.js");
      const { scanPayloads } = await import("./payload.js");
      emit("started", `Starting ${req.scanner === "openscap" ? "OpenSCAP" : "Docker Bench"} scan${req.scanner === "openscap" ? ` (${profile})` : ""}`);
      const out = await runScan(req, {
        signal,
        timeoutMs: this.cfg.scanTimeoutMs,
        contentDirs: this.cfg.contentDirs,
        evaluating: () => emit("evaluating", req.scanner === "openscap" ? "Evaluating rules" : "Running Docker Bench checks"),
        rule: (n, ruleId, total) => this.progress.rule({ profile, n, m: total, ruleId, requestId }),
        parsing: () => emit("parsing", "Reading the results"),
        warn: (m) => this.log(`${profile}: ${m}`),
      });
      profile = out.profile;
      const payloads = scanPayloads(out.groups.groups, { scanType: type, capabilities: this.detected?.scannerInfo as Record<string, unknown> | undefined, remediate: req.remediate === true, fixed: out.fixed });
      if (!payloads.length) throw new PipeError("E_BAD_INPUT", "the scan gave no rule results");
      const ids: string[] = [];
      for (const payload of payloads) {
        const scan = payload.scans[0];
        const stored: StoredScan = {
          id: this.outbox.newId(this.clock.now()),
          created_at: new Date(this.clock.now()).toISOString(),
          scan_type: type,
          profile_name: String(scan.profile_name),
          profile_type: String(scan.profile_type),
          payload,
        };
        // stored before any attempt to send: from here on the scan survives a crash
        this.outbox.add(stored);
        ids.push(stored.id);
        this.awaiting.set(stored.id, { profile, score: Number(scan.score), requestId, scanner: req.scanner, type });
      }
      this.publishOutbox();
      emit("sending", `Sending results (${ids.length === 1 ? "scan" : `${ids.length} scans`} stored in the outbox)`);
      this.courier?.kick();
      return { phase: "sending", ids };
    } catch (err) {
      if (err instanceof ScanStopped && err.timedOut) {
        emit("failed", `Scan ${err.reason}`, { error: err.reason });
        return { phase: "failed", ids: [], error: err.reason };
      }
      if (err instanceof ScanStopped || signal.aborted) {
        const why = String(signal.reason ?? "stopped");
        emit("cancelled", `Scan cancelled (${why})`);
        return { phase: "cancelled", ids: [] };
      }
      const why = err instanceof Error ? err.message : String(err);
      emit("failed", `Scan failed: ${why}`, { error: why });
      return { phase: "failed", ids: [], error: why };
    }
  }

  private currentMeta: { scanner: string; scan_type: string; started_at: string } = { scanner: "", scan_type: "", started_at: "" };

  private onProgressStatus(m: ProgressMessage): void {
    if (!this.status) return;
    const entry = { ...m, ...this.currentMeta };
    const over = m.phase === "completed" || m.phase === "failed" || m.phase === "cancelled";
    const current = this.status.status.current;
    // a scan's "completed" can come after the next scan started (its upload finished later)
    const key = scanKey(entry);
    const st = this.status.status;
    const trail = st.trail_of === key && st.trail ? st.trail : [];
    if (trail.length < TRAIL_MAX && trail.at(-1)?.phase !== m.phase) trail.push(entry);
    if (over) this.status.update({ last: entry, current: current && current.profile_name !== m.profile_name ? current : null, trail, trail_of: key });
    else this.status.update({ current: entry, trail, trail_of: key });
  }

  // ---- delivery ----

  private onAccepted(scan: StoredScan): void {
    const hash = complianceHash(scan.payload.scans);
    this.lastSent = { scan, hash };
    try {
      writeDurably(this.cfg.stateDir, LAST_SENT, JSON.stringify(this.lastSent));
    } catch (err) {
      this.log(`cannot keep the last scan for the hash gate: ${(err as Error).message}`);
    }
    this.log(`uploaded scan ${scan.id} (${scan.profile_type} ${scan.profile_name}, ${scan.scan_type})`);
    this.status?.update({ last_upload_at: new Date(this.clock.now()).toISOString(), compliance_hash: hash });
  }

  private onRemoved(scan: StoredScan): void {
    this.publishOutbox();
    const waiting = this.awaiting.get(scan.id);
    if (waiting) {
      this.awaiting.delete(scan.id);
      this.finishProgress(waiting, `Scan completed! Score: ${waiting.score.toFixed(1)}%`);
    }
  }

  private onSendFailed(scan: StoredScan | null, why: string, kind: "later" | "auth" | "refused"): void {
    this.log(why);
    if (kind === "refused" && scan) this.refused.add(scan.id);
    this.publishOutbox();
    const waiting = scan && this.awaiting.get(scan.id);
    if (!waiting || !scan) return;
    this.awaiting.delete(scan.id);
    if (kind === "refused") {
      this.progress.emit({ phase: "failed", profile: waiting.profile, message: "The server refused the scan", error: why, requestId: waiting.requestId });
      return;
    }
    // the scan is done and safe in the outbox: it goes when the server takes it
    this.finishProgress(waiting, `Scan completed! Score: ${waiting.score.toFixed(1)}% (upload pending: kept in the outbox)`);
  }

  private finishProgress(w: { profile: string; requestId?: string; scanner: string; type: ScanType }, message: string): void {
    const meta = this.currentMeta;
    this.currentMeta = { scanner: w.scanner, scan_type: w.type, started_at: meta.started_at };
    this.progress.emit({ phase: "completed", profile: w.profile, message, requestId: w.requestId });
    this.currentMeta = meta;
  }

  private publishOutbox(): void {
    if (!this.status) return;
    const { count, bytes } = this.outbox.usage();
    this.status.update({ outbox: { dir: this.cfg.outboxDir, count, bytes, max_bytes: this.cfg.outboxMaxBytes, last_error: this.courier?.lastError ?? null, last_error_at: this.courier?.lastErrorAt ?? null } });
  }

  // ---- capabilities and ping ----

  private ensureDetected(): Promise<void> {
    if (this.detected) return Promise.resolve();
    return this.refreshCapabilities();
  }

  refreshCapabilities(): Promise<void> {
    this.detecting ??= detectScanners(this.cfg.contentDirs, (m) => this.log(`scan-detect: ${m}`))
      .then((d) => {
        this.detected = d;
        const o = d.capabilities.openscap;
        this.log(`scanners: openscap ${o.installed ? (o.version ?? "installed") : "absent"} (${o.available_profiles.length} profile(s)), docker ${d.capabilities.docker_bench.docker_running ? "running" : d.capabilities.docker_bench.docker_installed ? "installed, not running" : "absent"}`);
        this.status?.update({ scanner_info: d.scannerInfo });
      })
      .catch((err) => this.log(`scan-detect failed: ${(err as Error).message}`))
      .finally(() => (this.detecting = null));
    return this.detecting;
  }

  /**
   * The hash-gated ping: our compliance hash (that of the last scan the
   * server took). When the server's answer asks for compliance data and
   * nothing waits in the outbox, the last scan is sent again as it was —
   * no new scan is run for it.
   */
  async ping(): Promise<void> {
    if (!this.uploader || this.stopped) return;
    const sentHash = this.lastSent?.hash ?? "";
    const body = JSON.stringify({ hashes: { complianceHash: sentHash }, agentVersion: `compliance-agent/${packageVersion()}`, agentExecutionMs: 0 });
    const r = await this.uploader.post("/api/v1/hosts/ping", body, new AbortController().signal, false);
    if (r.kind !== "accepted") {
      this.log(`ping: ${"why" in r ? r.why : r.kind}`);
      return;
    }
    let answer: { requestFull?: unknown };
    try {
      answer = JSON.parse(r.body);
    } catch {
      return;
    }
    if (!Array.isArray(answer.requestFull) || !answer.requestFull.includes("compliance")) return;
    // a scan went through while the ping was on its way: the answer is about the hash before it
    if ((this.lastSent?.hash ?? "") !== sentHash) return;
    if (this.outbox.list().length) {
      this.log("ping: the server asks for compliance data; the outbox is sending it");
      return;
    }
    if (!this.lastSent) {
      this.log("ping: the server asks for compliance data; no scan has been sent yet (the next scan will be)");
      return;
    }
    this.log(`ping: the server asks for compliance data: sending the last scan (${this.lastSent.scan.id}) again, not re-running it`);
    this.outbox.add(this.lastSent.scan);
    this.publishOutbox();
    this.courier?.kick();
  }

  // ---- one scan, for `compliance-agent scan` ----

  /**
   * One scan now, through the outbox. When no agent runs, this process
   * sends the outbox (this scan and any left before it); when one does,
   * it leaves the scan to it. Returns the ids still in the outbox.
   */
  async scanOnce(req: ScanRequest, onHolder: (pid: number) => void): Promise<{ end: ScanEnd; pending: string[]; refused: string[] }> {
    this.initStorage();
    const holder = this.lock.acquire();
    if (holder !== null) onHolder(holder);
    else this.courier = this.makeCourier(false);
    await this.ensureDetected();
    if (req.scanner === "openscap" && !req.profile) {
      const r = await this.openscapRequest(undefined);
      if ("error" in r) throw new PipeError("E_USAGE", r.error);
      req = { ...req, profile: r.profile };
    }
    try {
      const [end] = await this.runScans([req], "on-demand");
      if (end.phase === "failed" && /scanner not available/.test(end.error ?? "")) throw new PipeError("E_IO", end.error!, { exitCode: 3 });
      if (this.courier) await this.courier.drain();
      const left = new Set(this.outbox.list().map((e) => e.id));
      return { end, pending: end.ids.filter((id) => left.has(id)), refused: end.ids.filter((id) => this.refused.has(id)) };
    } finally {
      await this.uploader?.close();
      this.lock.release();
    }
  }
}
