import { PipeError } from "../errors.js";
import { runCli, type CommandSpec } from "../cli/run.js";
import { checkSenderArgs, printTo, runSender, senderOptions, type SenderArgs } from "../cli/sender.js";
import { SERVERS, syslogOption, syslogSenderOptions, syslogStatsNote } from "../cli/syslog-options.js";
import { Deliverer } from "../sinks/mozdef/deliver.js";
import { lineToDocument, RECORD_KINDS, type RecordKind } from "../sinks/mozdef/records.js";
import { resolveFqdn } from "../sinks/mozdef/host.js";
import { syslogLine, type SyslogStyle } from "../sinks/mozdef/syslog-line.js";
import type { SyslogFormat } from "../sinks/syslog/format.js";
import { DELIVERED } from "../delivery/outcome.js";
import type { Json } from "../types.js";

interface Args extends SenderArgs {
  server: string;
  style: SyslogStyle;
  format: SyslogFormat;
  facility: string;
  ident: string;
  "max-size": number;
  kind?: RecordKind;
  "include-notapplicable": boolean;
}

export const spec: CommandSpec<Args> = {
  name: "syslog-send",
  usage:
    "$0 [FILE...]\n\nWrites NDJSON records (FILEs or stdin, '-') to syslog as MozDef events: as one line of JSON (mozdef_client) or flattened `key: 'value' ` (mozdef_lib), with the syslog severity taken from the event's (DEBUG…EMERGENCY). Local socket, UDP, TCP or TLS (RFC 6587 octet counting), or RELP; RFC 3164 or 5424 headers. Lines that cannot be delivered go to the dead-letter file.\n\nOver tcp:// and tls:// nothing acknowledges a line: lines written just before the collector restarts or drops the connection can be lost (--stats counts them as unconfirmed). relp:// (rsyslog's imrelp) counts a line as sent only once the collector acknowledged it and writes unacknowledged lines again after a reconnect (--stats: possible duplicates).",
  examples: [
    ["xccdf2rules results.xml | $0", "findings to the local syslog (/dev/log)"],
    ["$0 --server tcp://loghost:514 --format 5424 --facility local0 < events.ndjson", "to a remote collector over TCP"],
    ["$0 --server tls://loghost:6514 --ca ca.pem --style flat", "over TLS, in mozdef_lib's flat form"],
    ["$0 --server relp://loghost:2514 --wait-for-receiver 5m < events.ndjson", "acknowledged delivery to rsyslog's imrelp, riding out a restart"],
  ],
  options: (y) =>
    senderOptions(
      y
        .option("server", syslogOption.server(SERVERS))
        .option("style", syslogOption.style)
        .option("format", syslogOption.format)
        .option("facility", syslogOption.facility("kern, user, mail, daemon, auth, …, local0-local7"))
        .option("ident", { type: "string", default: "syslog-send", describe: "program name in the header (mozdef_client: its script name)" })
        .option("max-size", { type: "number", default: 8192, describe: "largest syslog line in bytes; longer ones are cut, marked '[truncated N bytes]' and counted" })
        .option("kind", { type: "string", choices: RECORD_KINDS, describe: "treat every line as this kind instead of telling by shape" })
        .option("include-notapplicable", { type: "boolean", default: false, describe: "send RuleResults that did not apply or were not checked (notapplicable, notchecked), with a neutral summary; by default they are left out and counted" }),
      "syslog-send.dead.ndjson",
    ),
  async run(args, io) {
    const { failures, ...settings } = checkSenderArgs(args, io);
    if (!(args["max-size"] >= 256)) throw new PipeError("E_USAGE", "--max-size must be at least 256 bytes");
    const hostname = await resolveFqdn();
    const syslog = syslogSenderOptions({ server: args.server, style: args.style, format: args.format, facility: args.facility, ident: args.ident, maxSize: args["max-size"], hostname }, settings);
    const deliverer = args["dry-run"] ? null : new Deliverer({ syslog });
    let previewTruncated = 0;
    const preview = (docs: Json[]) =>
      docs
        .map((d) => {
          const line = syslogLine(d, syslog.line);
          if (line.truncatedBytes) previewTruncated++;
          return `${line.text}\n`;
        })
        .join("");
    await runSender<Json>(
      { name: "syslog-send", args, io, unitSize: 1, concurrency: syslog.transport.kind.startsWith("relp") ? args.concurrency : 1, maxSize: args["max-size"], failures },
      {
        prepare: (line) => lineToDocument(line, { kind: args.kind, includeNotApplicable: args["include-notapplicable"], hostname }),
        deliver: deliverer ? (docs) => deliverer.deliver(docs) : printTo(io.stdout, preview),
        stop: () => deliverer?.stop(),
        close: async () => (await deliverer?.close()) ?? DELIVERED,
        counters: () => ({ retried: deliverer?.retried ?? 0, truncated: (deliverer?.truncated ?? 0) + previewTruncated, more: syslogStatsNote(args.server, deliverer?.syslog?.stats()) }),
      },
    );
  },
};

export const main = () => runCli(spec);
