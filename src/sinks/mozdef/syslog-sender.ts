import { formatFrame, type FormatOptions } from "../syslog/format.js";
import { openTransport, type Delivery, type SyslogTransport, type TransportOptions } from "../syslog/transport.js";

export interface SyslogSenderOptions {
  transport: TransportOptions;
  format: Omit<FormatOptions, "bare">;
}

/** Formats MozDef events as syslog lines and hands them to one transport. */
export class SyslogSender {
  private readonly transport: SyslogTransport;
  truncated = 0;

  constructor(private readonly opts: SyslogSenderOptions) {
    const local = opts.transport.kind === "unix";
    this.transport = openTransport({ ...opts.transport, ident: opts.format.ident, rfc5424: opts.format.format === "5424" && local });
  }

  /** The line as it will be sent (for --dry-run and tests). */
  frame(event: Record<string, unknown>) {
    const frame = formatFrame(event, { ...this.opts.format, bare: this.opts.transport.kind === "unix" });
    if (frame.truncatedBytes) this.truncated++;
    return frame;
  }

  async send(event: Record<string, unknown>): Promise<Delivery & { truncatedBytes: number }> {
    const frame = this.frame(event);
    return { ...(await this.transport.send(frame.text)), truncatedBytes: frame.truncatedBytes };
  }

  close(): Promise<Delivery> {
    return this.transport.close();
  }
}
