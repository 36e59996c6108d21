/**
 * The runner's log, in the configured mode. Lines look like the Go runner's
 * (MIG logging_posix.go): `2016/01/05 14:00:00 - <action id or -> - [info] text`
 * on stdout or in the file; the same without the date through syslog
 * (facility daemon, tag mig-runner).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { appendFileSync, existsSync, renameSync, rmSync, statSync } from "node:fs";
import type { Writable } from "node:stream";
import type { LoggingConfig } from "./config.js";

export type LogLevel = "emerg" | "alert" | "crit" | "err" | "warning" | "notice" | "info" | "debug";
const ORDER: LogLevel[] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
/** The word Go's logger puts between brackets. */
const WORD: Record<LogLevel, string> = { emerg: "emergency", alert: "alert", crit: "critical", err: "error", warning: "warning", notice: "notice", info: "info", debug: "debug" };

export interface Logger {
  log(level: LogLevel, message: string, actionId?: string): void;
  close(): Promise<void>;
}

/** `- <action> - [level] message`, the part every mode shares. */
export function logBody(level: LogLevel, message: string, actionId?: string): string {
  return `- ${actionId ?? "-"} - [${WORD[level]}] ${message.replace(/\n/g, " ")}`;
}

function goLogDate(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const enabled = (level: LogLevel, max: LogLevel) => ORDER.indexOf(level) <= ORDER.indexOf(max);

/** Lines on a stream (stdout, or stderr for the one-shot subcommands). */
export function streamLogger(out: Writable, max: LogLevel): Logger {
  return {
    log: (level, message, actionId) => {
      if (enabled(level, max)) out.write(`${goLogDate()} ${logBody(level, message, actionId)}\n`);
    },
    close: async () => undefined,
  };
}

/** Appends to a file; past maxFileSize bytes the file becomes `<file>.1` (one old file kept), as the Go runner rotates. */
export function fileLogger(file: string, max: LogLevel, maxFileSize = 0): Logger {
  return {
    log: (level, message, actionId) => {
      if (!enabled(level, max)) return;
      if (maxFileSize > 0 && existsSync(file) && statSync(file).size >= maxFileSize) {
        rmSync(`${file}.1`, { force: true });
        renameSync(file, `${file}.1`);
      }
      appendFileSync(file, `${goLogDate()} ${logBody(level, message, actionId)}\n`, { mode: 0o640 });
    },
    close: async () => undefined,
  };
}

const SEVERITY: Record<LogLevel, number> = { emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 };
const DAEMON = 3;

/**
 * syslog through util-linux `logger` (Node cannot open the local datagram
 * socket): one long-lived logger reading `<PRI>line` lines. A remote server
 * (`[logging] host, port, protocol`, as the Go runner's syslog mode wants)
 * or else the local /dev/log.
 * (The project's syslog transport, src/sinks/syslog/transport.ts, was being
 * refactored when this was written; this small writer stands in for it.)
 */
export function syslogLogger(cfg: Pick<LoggingConfig, "host" | "port" | "protocol">, max: LogLevel, socket = "/dev/log"): Logger {
  const args = ["-t", "mig-runner", "--prio-prefix"];
  if (cfg.host) args.push("--rfc3164", "-n", cfg.host, "-P", String(cfg.port ?? 514), cfg.protocol === "tcp" ? "-T" : "-d");
  else args.push("-u", socket);
  let child: ChildProcessWithoutNullStreams | null = null;
  let failed = false;
  const start = () => {
    const c = spawn("logger", args, { stdio: ["pipe", "ignore", "inherit"] }) as unknown as ChildProcessWithoutNullStreams;
    c.on("error", (err) => {
      if (!failed) process.stderr.write(`mig-runner: syslog: cannot run logger: ${err.message}\n`);
      failed = true;
    });
    c.on("close", () => child === c && (child = null));
    c.stdin.on("error", () => undefined);
    return c;
  };
  return {
    log: (level, message, actionId) => {
      if (!enabled(level, max) || failed) return;
      child ??= start();
      child.stdin.write(`<${DAEMON * 8 + SEVERITY[level]}>${logBody(level, message, actionId)}\n`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!child) return resolve();
        child.on("close", () => resolve());
        child.stdin.end();
      }),
  };
}

export function createLogger(cfg: LoggingConfig): Logger {
  if (cfg.mode === "file") return fileLogger(cfg.file!, cfg.level, cfg.maxFileSize);
  if (cfg.mode === "syslog") return syslogLogger(cfg, cfg.level);
  return streamLogger(process.stdout, cfg.level);
}

/** Keeps lines in memory (tests) and passes them on. */
export function memoryLogger(lines: string[] = [], max: LogLevel = "debug"): Logger & { lines: string[] } {
  return {
    lines,
    log: (level, message, actionId) => {
      if (enabled(level, max)) lines.push(logBody(level, message, actionId));
    },
    close: async () => undefined,
  };
}
