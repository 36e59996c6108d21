import { Deliverer } from "./deliver.js";
import { MozDefError } from "./error.js";
import { FACILITIES } from "../syslog/format.js";
import type { Json } from "../../types.js";

/** How a message is delivered when send() is called. */
export interface DeliverySettings {
  url?: string;
  /** Verify the server's certificate (default true, unlike mozdef_client), or a CA file path. */
  verify: boolean | string;
  syslog: { enabled: boolean; only: boolean };
  sqs: { enabled: boolean; queue?: string; region?: string; accountId?: string; endpoint?: string };
  timeoutMs: number;
  retries: number;
  /** Validate and build, send nothing (send() still resolves with the document). */
  dryRun: boolean;
}

/** The library's send(): one document, the transports the message's setters chose. */
export async function sendMessage(doc: Json, d: DeliverySettings): Promise<void> {
  const useHttp = !d.syslog.only && !d.sqs.enabled;
  if (useHttp && !d.url) throw new MozDefError("no URL to send to (and syslog-only / SQS not set)");
  if (d.sqs.enabled && !d.sqs.queue) throw new MozDefError("SQS is on but no queue name is set");
  const tls = typeof d.verify === "string" ? { ca: d.verify } : { insecure: !d.verify };
  const deliverer = new Deliverer({
    http: useHttp ? { url: d.url!, timeoutMs: d.timeoutMs, retries: d.retries, connections: 1, tls, batch: 1 } : undefined,
    sqs: d.sqs.enabled && !d.syslog.only ? { queue: d.sqs.queue!, region: d.sqs.region, accountId: d.sqs.accountId, endpoint: d.sqs.endpoint, retries: d.retries } : undefined,
    syslog: d.syslog.enabled
      ? {
          transport: { kind: "unix", path: "/dev/log", timeoutMs: d.timeoutMs, retries: d.retries, maxSize: 8192 },
          line: { style: "json", format: "3164", facility: FACILITIES.user, ident: String(doc.processname ?? "node"), hostname: String(doc.hostname ?? ""), maxSize: 8192, local: true },
        }
      : undefined,
  });
  try {
    const [outcome] = await deliverer.deliver([doc]);
    if (outcome) throw new MozDefError(`send failed: ${outcome.reason}`);
  } finally {
    const late = await deliverer.close();
    if (late) throw new MozDefError(`send failed: ${late.reason}`);
  }
}
