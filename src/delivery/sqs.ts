import { DELIVERED, failed, type Outcome } from "./outcome.js";

export interface SqsOptions {
  queue: string;
  region?: string;
  accountId?: string;
  /** Endpoint override (tests, VPC endpoints, local emulators). */
  endpoint?: string;
  retries: number;
}

/** SQS's limit for one message body. */
export const SQS_MAX_MESSAGE = 256 * 1024;
const BATCH_ENTRIES = 10;

/**
 * Sends bodies to an SQS queue with the AWS SDK (SendMessageBatch, 10 a
 * call). The SDK is loaded only when SQS is used; credentials come from the
 * SDK's usual chain (env, shared files, instance role), never from argv.
 */
export class SqsSender {
  private client: import("@aws-sdk/client-sqs").SQSClient | undefined;
  private sdk: typeof import("@aws-sdk/client-sqs") | undefined;
  private queueUrl: Promise<string> | undefined;

  constructor(private readonly opts: SqsOptions) {}

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
      try {
        const { client, sdk, url } = await this.ready();
        const res = await client.send(new sdk.SendMessageBatchCommand({ QueueUrl: url, Entries: chunk.map(({ b, i }) => ({ Id: `m${i}`, MessageBody: b })) }));
        for (const f of res.Failed ?? []) {
          const i = Number(f.Id?.slice(1));
          out[i] = failed(`SQS ${f.Code ?? "error"}: ${f.Message ?? "failed"}`, `SQS ${f.Code ?? "error"}`);
        }
        const answered = new Set([...(res.Successful ?? []), ...(res.Failed ?? [])].map((e) => e.Id));
        for (const { i } of chunk) if (!answered.has(`m${i}`)) out[i] = failed("SQS did not answer for this message");
      } catch (err) {
        for (const { i } of chunk) out[i] = failed(`SQS: ${(err as Error).message}`);
      }
    }
    return out;
  }

  close(): void {
    this.client?.destroy();
  }
}
