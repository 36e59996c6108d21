/**
 * The runner service: jobs launched on their schedules, in-flight actions
 * followed until their results are written and their plugin has succeeded.
 *
 * Everything happens in `tick()`, which looks at the clock once and starts
 * what is due (a directory rescan, launches, fetches, plugin runs) without
 * waiting for it; `idle()` waits for what was started. The service loop
 * (`run`) is tick, then sleep until the next thing is due. Tests drive
 * `tick()` with a clock of their own.
 *
 * Where the Go runner loses results, this one does not: an in-flight record
 * stays until the results file is written and the plugin exited 0; a failed
 * fetch is retried with backoff for `resultsretention` after the action's
 * expiry, then the record is moved to failed/; a failed plugin is run again
 * (the results file is kept) up to `pluginretries` times.
 */
import { join } from "node:path";
import { processAlive } from "../../util/process-alive.js";
import { readFile } from "node:fs/promises";
import { PipeError } from "../../errors.js";
import { goIdString } from "../../util/go-json.js";
import { prepareLaunch, readAction } from "./action.js";
import { MigApi } from "./api.js";
import { localTime, realClock, type Clock } from "./clock.js";
import type { ClientConfig, RunnerConfig } from "./config.js";
import type { Zone } from "./cron.js";
import { formatDuration } from "./duration.js";
import type { RunnerResult } from "./go-struct.js";
import { jobNames, jobStamp, loadJob, type Job } from "./jobs.js";
import type { Logger } from "./log.js";
import { loadSigner, type Signer } from "./pgp.js";
import { describeOutcome, findPlugin, runPlugin } from "./plugin.js";
import { Store } from "./store.js";

/** First wait after a failed fetch; doubled each time, up to FETCH_BACKOFF_MAX_MS. */
export const FETCH_BACKOFF_MS = 5_000;
export const FETCH_BACKOFF_MAX_MS = 5 * 60_000;
/** First wait after a failed plugin run; doubled each time, up to PLUGIN_BACKOFF_MAX_MS. */
export const PLUGIN_BACKOFF_MS = 60_000;
export const PLUGIN_BACKOFF_MAX_MS = 60 * 60_000;
/** Longest sleep of the service loop (the Go runner's results loop wakes every 5 s). */
const MAX_SLEEP_MS = 5_000;

const backoff = (first: number, max: number, attempt: number) => Math.min(max, first * 2 ** Math.max(0, attempt - 1));

interface ScheduledJob extends Job {
  nextRun: number | null;
  launching: boolean;
}

/** An action being followed to the end. */
interface Tracked {
  job: string;
  id: number;
  result: RunnerResult;
  dueAt: number;
  fetchFailures: number;
  pluginFailures: number;
  busy: boolean;
}

export type Outcome = "done" | "retry" | "gave-up" | "gone";

export interface RunnerOptions {
  runner: RunnerConfig;
  client: ClientConfig;
  log: Logger;
  clock?: Clock;
  /** Given by tests; else read from the client configuration at start. */
  signer?: Signer;
  /** How schedules read wall-clock time (the Go runner: local). */
  zone?: Zone;
  /** Called when a plugin process started (tests wait on it). */
  onPluginStart?(job: string, id: number, pid: number): void;
}

export class MigRunner {
  readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;
  private api?: MigApi;
  private signer?: Signer;
  readonly jobs = new Map<string, ScheduledJob>();
  private readonly tracked = new Map<string, Tracked>();
  /** Jobs that failed to load, by stamp, so that each problem is logged once. */
  private readonly badJobs = new Map<string, string>();
  private readonly badInflight = new Set<string>();
  private readonly tasks = new Set<Promise<void>>();
  private nextRescan = 0;
  private readonly stopping = new AbortController();

  constructor(private readonly o: RunnerOptions) {
    this.store = new Store(o.runner.runnersDir);
    this.clock = o.clock ?? realClock;
    this.log = o.log;
    this.signer = o.signer;
  }

  /** Opens the key (a configuration error if it cannot be used); actions are signed even when the API is reached with an API key. */
  async start(): Promise<void> {
    if (!this.signer) this.signer = await loadSigner(this.o.client.gpgHome, this.o.client.keyId, this.o.runner.passphrase);
    this.api = new MigApi({ url: this.o.client.apiUrl, signer: this.signer, apiKey: this.o.client.apiKey, now: () => this.clock.now() });
  }

  /** Actions followed now, `job/id` (tests and messages). */
  get inFlight(): string[] {
    return [...this.tracked.keys()];
  }

  /** Starts whatever is due now. */
  async tick(): Promise<void> {
    const now = this.clock.now();
    if (now >= this.nextRescan) {
      await this.rescan(now);
      await this.scanInflight();
      this.nextRescan = now + this.o.runner.checkDirectoryMs;
    }
    for (const job of this.jobs.values()) {
      if (job.nextRun === null || job.nextRun > now) continue;
      const scheduled = job.nextRun;
      job.nextRun = job.config.cron.next(new Date(now))?.getTime() ?? null;
      if (job.launching) {
        this.log.log("warning", `${job.name}: the launch due at ${localTime(scheduled)} is skipped: the previous one is still under way`);
        continue;
      }
      this.spawn(this.launchScheduled(job));
    }
    for (const t of this.tracked.values()) if (!t.busy && t.dueAt <= now) this.spawn(this.followOnce(t).then(() => undefined));
  }

  /** Resolves when everything tick() started has finished. */
  async idle(): Promise<void> {
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
  }

  /** When tick() next has something to do. */
  nextWake(): number {
    let at = this.nextRescan;
    for (const j of this.jobs.values()) if (j.nextRun !== null) at = Math.min(at, j.nextRun);
    for (const t of this.tracked.values()) if (!t.busy) at = Math.min(at, t.dueAt);
    return at;
  }

  /** The service: until `signal` aborts; then running plugins are stopped (their actions stay in flight for the next start). */
  async run(signal: AbortSignal): Promise<void> {
    await this.start();
    this.log.log("info", `mig-runner started: jobs in ${this.o.runner.runnersDir}, plugins in ${this.o.runner.pluginsDir}, API ${this.o.client.apiUrl}`);
    signal.addEventListener("abort", () => this.stopping.abort(), { once: true });
    while (!signal.aborted) {
      await this.tick();
      const wait = Math.min(MAX_SLEEP_MS, Math.max(0, this.nextWake() - this.clock.now()));
      await this.clock.delay(wait, signal);
    }
    this.log.log("info", "signal, exiting: running plugins are stopped; their actions stay in flight and are taken up at the next start");
    await this.idle();
  }

  private spawn(work: Promise<void>): void {
    const task = work.catch((err) => this.log.log("err", `internal error: ${(err as Error).stack ?? err}`)).finally(() => this.tasks.delete(task));
    this.tasks.add(task);
  }

  /** Loads new and changed jobs, stops removed ones. */
  private async rescan(now: number): Promise<void> {
    let names: string[];
    try {
      names = jobNames(this.o.runner.runnersDir);
    } catch (err) {
      this.log.log("err", `cannot read ${this.o.runner.runnersDir}: ${(err as Error).message}`);
      return;
    }
    for (const name of names) {
      const existing = this.jobs.get(name);
      const stamp = jobStamp(join(this.o.runner.runnersDir, name));
      if (existing && existing.stamp === stamp) continue;
      if (stamp === null) {
        if (existing) this.log.log("info", `${name}: entity.cfg removed, job stopped`);
        this.jobs.delete(name);
        continue;
      }
      if (!existing && this.badJobs.get(name) === stamp) continue;
      const { job, problems } = await loadJob(this.o.runner.runnersDir, name, this.o.zone);
      if (!job) {
        this.badJobs.set(name, stamp);
        this.jobs.delete(name);
        for (const p of problems) this.log.log("err", `${name}: not scheduled: ${p}`);
        continue;
      }
      this.badJobs.delete(name);
      const nextRun = job.config.cron.next(new Date(now))?.getTime() ?? null;
      this.jobs.set(name, { ...job, nextRun, launching: existing?.launching ?? false });
      this.log.log("info", `${existing ? "reloaded" : "added"} job ${name}: ${nextRun === null ? `schedule "${job.config.schedule}" never runs` : `will run at ${localTime(nextRun)} (in ${formatDuration(nextRun - now)})`}`);
    }
    for (const name of [...this.jobs.keys()])
      if (!names.includes(name)) {
        this.jobs.delete(name);
        this.log.log("info", `removed job ${name}`);
      }
    for (const name of [...this.badJobs.keys()]) if (!names.includes(name)) this.badJobs.delete(name);
  }

  /** Takes up in-flight records not followed yet (left by a previous run of this or the Go runner). */
  private async scanInflight(): Promise<void> {
    await this.reportUnrecordedLaunches();
    const { records, unreadable } = await this.store.listInflight();
    for (const r of records) {
      if (this.tracked.has(`${r.job}/${goIdString(r.id)}`)) continue;
      this.track(r.result, r.job);
      this.log.log("info", `${r.job}: taking up action ${goIdString(r.id)} left in flight (expires ${r.result.action.expireafter})`, goIdString(r.id));
    }
    for (const u of unreadable) {
      if (this.badInflight.has(u.file)) continue;
      this.badInflight.add(u.file);
      this.log.log("err", `cannot read in-flight record ${u.file}: ${u.reason} (left where it is)`);
    }
  }

  /**
   * Launch notes of processes that are gone: each may be an action running in
   * MIG that no in-flight record follows. Said loudly, with what finds it,
   * and kept in failed/; never dropped silently.
   */
  private async reportUnrecordedLaunches(): Promise<void> {
    for (const { job, file, note } of await this.store.listLaunching()) {
      // ours (a launch under way now) or a live run-once's beside us
      if (note && (note.pid === process.pid || processAlive(note.pid))) continue;
      const what = note ? `action "${note.name}" valid from ${note.validfrom}, expiring ${note.expireafter}` : `an action (unreadable note ${file})`;
      const reason = `the runner stopped between sending ${what} to the API and recording it in flight: it may be running in MIG with nobody fetching its results; find it in MIG by that name and time (e.g. mig action search) and fetch its results by hand`;
      const kept = await this.store.parkLaunching(job, file, reason);
      this.log.log("err", `${job}: ${reason} (note kept in ${kept})`);
    }
  }

  private track(result: RunnerResult, job = result.name): Tracked {
    const expires = Date.parse(result.action.expireafter);
    const t: Tracked = {
      job,
      id: result.action.id,
      result: { ...result, name: job },
      // the Go runner fetches once now is after expiry + delay
      dueAt: (Number.isNaN(expires) ? 0 : expires) + this.o.runner.delayResultsMs + 1,
      fetchFailures: 0,
      pluginFailures: 0,
      busy: false,
    };
    this.tracked.set(`${job}/${goIdString(t.id)}`, t);
    return t;
  }

  private async launchScheduled(job: ScheduledJob): Promise<void> {
    job.launching = true;
    try {
      await this.launch(job);
    } catch (err) {
      const next = job.nextRun === null ? "the schedule has no further run" : `next try at ${localTime(job.nextRun)}`;
      this.log.log("err", `${job.name}: launch failed: ${(err as Error).message}; ${next}`);
    } finally {
      job.launching = false;
    }
  }

  /** Signs and dispatches the job's action; unless sendonly, records it in flight and follows it. */
  async launch(job: Job): Promise<Tracked | null> {
    const api = this.api!;
    const action = await readAction(join(job.dir, "action.json"));
    const ready = await prepareLaunch(action, { job: job.name, now: this.clock.now(), expiryMs: job.config.expiryMs, signer: this.signer! });
    // a kill between the API's answer and the in-flight record would lose the action silently: the note says it
    const note = job.config.sendOnly
      ? null
      : await this.store.writeLaunching(job.name, { job: job.name, name: ready.name, validfrom: ready.validfrom, expireafter: ready.expireafter, pid: process.pid });
    let created: Awaited<ReturnType<MigApi["createAction"]>>;
    try {
      created = await api.createAction(ready);
    } catch (err) {
      if (note) await this.store.clearLaunching(note);
      throw err;
    }
    if (!created.id) {
      if (note) await this.store.clearLaunching(note);
      throw new Error("the API answered without an action id");
    }
    // the API's copy is what the Go runner keeps; its dates if it has them
    if (!Date.parse(created.expireafter) || created.expireafter.startsWith("0001-")) created.expireafter = ready.expireafter;
    const id = goIdString(created.id);
    this.log.log("info", `${job.name}: launched action ${id}`, id);
    if (job.config.sendOnly) return null;
    const result: RunnerResult = { action: created, commands: null, name: job.name, plugin: job.config.plugin };
    const file = await this.store.writeInflight(result);
    if (note) await this.store.clearLaunching(note);
    this.log.log("debug", `${job.name}: action marked as inflight: ${file}`, id);
    return this.track(result);
  }

  /**
   * One step for an in-flight action: fetch its results if there is no
   * results file yet, then run its plugin; "retry" when it must be tried
   * again at t.dueAt.
   */
  async followOnce(t: Tracked): Promise<Outcome> {
    const key = `${t.job}/${goIdString(t.id)}`;
    const id = goIdString(t.id);
    t.busy = true;
    let locked = false;
    try {
      if (!(await this.store.isInflight(t.job, t.id))) {
        this.tracked.delete(key);
        return "gone";
      }
      locked = await this.store.lock(t.job, t.id);
      if (!locked) {
        t.dueAt = this.clock.now() + this.o.runner.checkDirectoryMs;
        this.log.log("debug", `${t.job}: action ${id} is being followed by another mig-runner process`, id);
        return "retry";
      }
      const resultsFile = (await this.store.findResults(t.job, t.id)) ?? (await this.fetch(t));
      if (resultsFile === null) return this.tracked.has(key) ? "retry" : "gave-up";
      if (!t.result.plugin) {
        this.log.log("info", `${t.job}: no output plugin for ${id}, skipping plugin processing`, id);
        return this.done(t);
      }
      return await this.plugin(t, resultsFile);
    } finally {
      if (locked) await this.store.unlock(t.job, t.id);
      t.busy = false;
    }
  }

  private async done(t: Tracked): Promise<Outcome> {
    await this.store.complete(t.job, t.id);
    this.tracked.delete(`${t.job}/${goIdString(t.id)}`);
    this.log.log("info", `${t.job}: action ${goIdString(t.id)} complete`, goIdString(t.id));
    return "done";
  }

  private async giveUp(t: Tracked, reason: string): Promise<Outcome> {
    const id = goIdString(t.id);
    const where = await this.store.giveUp(t.job, t.id, reason);
    this.tracked.delete(`${t.job}/${id}`);
    this.log.log("err", `${t.job}: action ${id} given up: ${reason}; its record is in ${where}`, id);
    return "gave-up";
  }

  /** Fetches and writes the results; null when it failed (retry scheduled, or given up). */
  private async fetch(t: Tracked): Promise<string | null> {
    const id = goIdString(t.id);
    const now = this.clock.now();
    this.log.log("info", `fetching results for ${t.job}/${id}`, id);
    let commands: unknown[];
    try {
      commands = await this.api!.fetchCommands(t.id);
    } catch (err) {
      t.fetchFailures++;
      const deadline = Date.parse(t.result.action.expireafter) + this.o.runner.delayResultsMs + this.o.runner.resultsRetentionMs;
      if (now >= deadline) {
        await this.giveUp(t, `its results could not be fetched within ${formatDuration(this.o.runner.resultsRetentionMs)} of its expiry (${t.fetchFailures} attempts; last: ${(err as Error).message})`);
        return null;
      }
      const wait = Math.min(backoff(FETCH_BACKOFF_MS, FETCH_BACKOFF_MAX_MS, t.fetchFailures), deadline - now);
      t.dueAt = now + wait;
      this.log.log("warning", `${t.job}: fetching results of ${id} failed (attempt ${t.fetchFailures}): ${(err as Error).message}; trying again in ${formatDuration(wait)}`, id);
      return null;
    }
    this.log.log("info", `${t.job}/${id}: fetched results, ${commands.length} commands returned`, id);
    const file = await this.store.writeResults({ ...t.result, commands }, this.clock.now());
    this.log.log("info", `wrote results for ${id} to ${file}`, id);
    return file;
  }

  private async plugin(t: Tracked, resultsFile: string): Promise<Outcome> {
    const id = goIdString(t.id);
    const name = t.result.plugin;
    const found = findPlugin(this.o.runner.pluginsDir, name);
    let failure: string;
    if ("path" in found) {
      const input = await readFile(resultsFile);
      const outcome = await runPlugin({
        path: found.path,
        input,
        timeoutMs: this.o.runner.pluginTimeoutMs,
        clock: this.clock,
        signal: this.stopping.signal,
        onStart: (pid) => this.o.onPluginStart?.(t.job, t.id, pid),
        onStderr: (line) => this.log.log("warning", `${t.job}/${id}: plugin ${name}: ${line}`, id),
        onStdout: (line) => this.log.log("debug", `${t.job}/${id}: plugin ${name} (stdout): ${line}`, id),
      });
      if (outcome.ok) {
        this.log.log("info", `${t.job}/${id}: plugin ${name} succeeded`, id);
        return this.done(t);
      }
      if (this.stopping.signal.aborted) {
        this.log.log("warning", `${t.job}/${id}: plugin ${name} stopped by the shutdown; it runs again at the next start`, id);
        return "retry";
      }
      failure = `plugin ${name} ${describeOutcome(outcome, this.o.runner.pluginTimeoutMs)}`;
    } else failure = found.problem;
    t.pluginFailures++;
    if (t.pluginFailures > this.o.runner.pluginRetries) return this.giveUp(t, `${failure} (${t.pluginFailures} runs); the results are kept in ${resultsFile}`);
    const wait = backoff(PLUGIN_BACKOFF_MS, PLUGIN_BACKOFF_MAX_MS, t.pluginFailures);
    t.dueAt = this.clock.now() + wait;
    this.log.log("err", `${t.job}/${id}: ${failure} (run ${t.pluginFailures} of ${this.o.runner.pluginRetries + 1}); the results file is kept, the plugin runs again in ${formatDuration(wait)}`, id);
    return "retry";
  }

  /**
   * `run-once <job>`: launches the job now, waits for its expiry, fetches
   * (retrying as the service would) and runs its plugin once. Returns the
   * results file (null for a sendonly job). A plugin failure leaves the
   * action in flight, for the service to run the plugin again.
   */
  async runOnce(name: string): Promise<string | null> {
    await this.start();
    const { job, problems } = await loadJob(this.o.runner.runnersDir, name, this.o.zone);
    if (!job) throw new PipeError("E_USAGE", `job ${name}: ${problems.join("; ")}`);
    let t: Tracked | null;
    try {
      t = await this.launch(job);
    } catch (err) {
      throw new PipeError("E_IO", `${name}: launch failed: ${(err as Error).message}`);
    }
    if (!t) return null;
    const id = goIdString(t.id);
    for (;;) {
      const wait = t.dueAt - this.clock.now();
      if (wait > 0) {
        this.log.log("info", `${name}: waiting ${formatDuration(wait)} for action ${id} to expire`, id);
        await this.clock.delay(wait);
      }
      const outcome = await this.followOnce(t);
      if (outcome === "done") return this.store.findResults(name, t.id);
      if (outcome === "gave-up" || outcome === "gone") throw new PipeError("E_LOST", `${name}: action ${id} ${outcome === "gone" ? "was taken up by another process" : "given up (see failed/)"}`);
      if (t.pluginFailures > 0) throw new PipeError("E_IO", `${name}: the plugin failed on action ${id}; results in ${await this.store.findResults(name, t.id)}; the action stays in flight and the mig-runner service runs the plugin again`);
    }
  }

  /** Stops running plugins (used on shutdown). */
  stop(): void {
    this.stopping.abort();
  }
}
