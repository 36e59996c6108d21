/** Where in the input something went wrong. Any subset may be known. */
export interface Position {
  source?: string;
  line?: number;
  col?: number;
  offset?: number;
}

/**
 * Stable error codes. E_USAGE maps to exit 2; every other code to exit 1
 * (bad input and delivery failures alike: the run did not do all it was asked).
 */
export type ErrorCode = "E_USAGE" | "E_BAD_INPUT" | "E_IO" | "E_LOST";

export class PipeError extends Error {
  readonly code: ErrorCode;
  position?: Position;

  private readonly forcedExit?: number;

  constructor(code: ErrorCode, message: string, opts: { position?: Position; cause?: unknown; exitCode?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "PipeError";
    this.code = code;
    this.position = opts.position;
    this.forcedExit = opts.exitCode;
  }

  get exitCode(): number {
    return this.forcedExit ?? (this.code === "E_USAGE" ? 2 : 1);
  }
}

export function formatPosition(p: Position | undefined): string {
  if (!p) return "";
  const parts: string[] = [];
  if (p.source) parts.push(p.source);
  const at: string[] = [];
  if (p.line !== undefined) at.push(`line ${p.line}`);
  if (p.col !== undefined) at.push(`col ${p.col}`);
  if (p.offset !== undefined && p.line === undefined) at.push(`byte ${p.offset}`);
  if (at.length) parts.push(at.join(" "));
  return parts.join(": ");
}

/** The one-line form every command prints: `cmd: where: what`. */
export function formatError(command: string, err: unknown): string {
  if (err instanceof PipeError) {
    const where = formatPosition(err.position);
    return [command, where, err.message].filter(Boolean).join(": ");
  }
  const message = err instanceof Error ? err.message : String(err);
  return `${command}: ${message}`;
}

export function exitCodeFor(err: unknown): number {
  return err instanceof PipeError ? err.exitCode : 1;
}
