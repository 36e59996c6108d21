import type { AttemptListener, Failure } from "./outcome.js";

/**
 * Says the first failure of each kind on stderr as it happens, and counts
 * the records lost by kind for the final line: a run that cannot deliver
 * says why at once instead of after its retries.
 */
export class FailureReport {
  private readonly said = new Set<string>();
  private readonly lost = new Map<string, number>();

  constructor(private readonly warn: (message: string) => void) {}

  readonly attempt: AttemptListener = ({ kind, attempt, retries, retrying }) => {
    this.sayOnce(kind, retrying ? `; retrying (${attempt} of ${retries})` : "; not delivered");
  };

  /** A record that was not delivered. */
  record(f: Failure): void {
    this.lost.set(f.kind, (this.lost.get(f.kind) ?? 0) + 1);
    this.sayOnce(f.kind, "; not delivered");
  }

  /** `127.0.0.1:9: connection refused (3), HTTP 400 (1)`, most frequent first; empty when nothing was lost. */
  summary(): string {
    return [...this.lost].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${kind} (${n})`).join(", ");
  }

  private sayOnce(kind: string, tail: string): void {
    if (this.said.has(kind)) return;
    this.said.add(kind);
    this.warn(`${kind}${tail}`);
  }
}
