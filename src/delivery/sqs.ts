import { DELIVERED, failed, type Outcome } from "./outcome.js";
import { Circuit, DEFAULT_OUTAGE, type OutageSettings } from "./circuit.js";

export interface SqsOptions {
  queue: string;
  region?: string;
  accountId?: string;
  /** Endpoint override (tests, VPC endpoints, local emulators). */
  endpoint?: string;
  retries: number;
  /** What to do while SQS cannot be reached (default: fail the rest at once). */
  outage?: OutageSettings;
}

/** SQS's limit for one message body. */
export const SQS_MAX_MESSAGE = 256 * 1024;
const BATCH_ENTRIES = 10;

/**
 * Sends bodies to an SQS queue with the AWS SDK (SendMessageBatch, 10 a
 * call). The SDK is loaded only when SQS is used; credentials come from the
 * SDK's usual chain (env, shared files, instance role), never from argv.
 * The SDK retries each call; a call that failed without an answer (the
 * endpoint unreachable) shows SQS down to the circuit, which then fails
 * or holds the rest (see Circuit).
 */
export class SqsSender {
  private client: import("@aws-sdk/client-sqs").SQSClient | undefined;
  private sdk: typeof import("@aws-sdk/client-sqs") | undefined;
  private queueUrl: Promise<string> | undefined;

  private readonly circuit: Circuit;

  constructor(private readonly opts: SqsOptions) {
    this.circuit = new Circuit(opts.outage ?? DEFAULT_OUTAGE);
  }

  private async ready() {
    if (!this.sdk) {
      this.sdk = await import("@aws-sdk/client-sqs");
      this.client = new this.sdk.SQSClient({ region: this.opts.region, endpoint: this.opts.endpoint, maxAttempts: this.opts.retries + 1 });
    }
    this.queueUrl ??= this.client!
      .send(new this.sdk.GetQueueUrlCommand({ QueueName: this.opts.queue, QueueOwnerAWSAccountId: this.opts.accountId }))
      .then((r) => r.QueueUrl ?? Promise.reject(new Error("no QueueUrl in the answer")));
    this.queueUrl.catch(() => (this.queueUrl = undefined));
    return { client: this.client!, sdk: this.sdk, url: await this.queueUrl };
  }

  /** One outcome per body, in order. */
  async send(bodies: string[]): Promise<Outcome[]> {
    const out: Outcome[] = bodies.map((b) =>
      Buffer.byteLength(b) > SQS_MAX_MESSAGE ? failed(`event of ${Buffer.byteLength(b)} bytes is over SQS's ${SQS_MAX_MESSAGE}-byte message limit`, "over SQS's message limit") : DELIVERED,
    );
    const sendable = bodies.map((b, i) => ({ b, i })).filter(({ i }) => out[i] === DELIVERED);
    for (let start = 0; start < sendable.length; start += BATCH_ENTRIES) {
      const chunk = sendable.slice(start, start + BATCH_ENTRIES);
      const firstAttemptAt = performance.now();
      const gate = await this.circuit.enter();
      if (!gate.go) {
        for (const { i } of chunk) out[i] = failed(`${gate.refusal.kind}; ${gate.refusal.note}`, gate.refusal.kind);
        continue;
      }
      try {
        const { client, sdk, url } = await this.ready();
        const res = await client.send(new sdk.SendMessageBatchCommand({ QueueUrl: url, Entries: chunk.map(({ b, i }) => ({ Id: `m${i}`, MessageBody: b })) }));
        this.circuit.succeeded(gate.probe);
        for (const f of res.Failed ?? []) {
          const i = Number(f.Id?.slice(1));
          out[i] = failed(`SQS ${f.Code ?? "error"}: ${f.Message ?? "failed"}`, `SQS ${f.Code ?? "error"}`);
        }
        const answered = new Set([...(res.Successful ?? []), ...(res.Failed ?? [])].map((e) => e.Id));
        for (const { i } of chunk) if (!answered.has(`m${i}`)) out[i] = failed("SQS did not answer for this message");
      } catch (err) {
        const e = err as Error & { $metadata?: { httpStatusCode?: number } };
        const reason = `SQS: ${e.message}`;
        // an answer (throttling, access denied) means SQS is there; no answer after the SDK's retries, that it is not
        if (e.$metadata?.httpStatusCode === undefined) this.circuit.failed(reason, { probe: gate.probe, exhausted: true, firstAttemptAt });
        else this.circuit.succeeded(gate.probe);
        for (const { i } of chunk) out[i] = failed(reason);
      }
    }
    return out;
  }

  /** SIGINT/SIGTERM: records waiting for SQS give up. */
  stop(): void {
    this.circuit.stop();
  }

  close(): void {
    this.client?.destroy();
  }
}
