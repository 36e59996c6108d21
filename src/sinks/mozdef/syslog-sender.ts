import { openTransport, type SyslogTransport, type TransportOptions, type TransportStats } from "../syslog/transport.js";
import { syslogLine, type SyslogLineOptions } from "./syslog-line.js";
import type { Outcome } from "../../delivery/outcome.js";
import type { Json } from "../../types.js";

export interface SyslogSenderOptions {
  transport: TransportOptions;
  line: SyslogLineOptions;
}

/** Formats MozDef events as syslog lines and hands them to one transport. */
export class SyslogSender {
  private readonly transport: SyslogTransport;
  truncated = 0;

  constructor(private readonly opts: SyslogSenderOptions) {
    this.transport = openTransport({ ...opts.transport, ident: opts.line.ident, rfc5424: opts.line.format === "5424" && opts.line.local });
  }

  send(event: Json): Promise<Outcome> {
    // made only when it is to be written: no formatting for lines refused while the collector is down
    return this.transport.send(() => {
      const frame = syslogLine(event, this.opts.line);
      if (frame.truncatedBytes) this.truncated++;
      return frame.text;
    });
  }

  close(): Promise<Outcome> {
    return this.transport.close();
  }

  stop(): void {
    this.transport.stop();
  }

  stats(): TransportStats {
    return this.transport.stats();
  }
}
