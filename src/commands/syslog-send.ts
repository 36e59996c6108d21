import { PipeError } from "../errors.js";
import { runCli, type CommandSpec } from "../cli/run.js";
import { checkSenderArgs, runSender, senderOptions, type SenderArgs } from "../cli/sender.js";
import { Deliverer } from "../sinks/mozdef/deliver.js";
import { lineToDocument, RECORD_KINDS, type RecordKind } from "../sinks/mozdef/records.js";
import { resolveFqdn } from "../sinks/mozdef/host.js";
import { facilityNumber, FORMATS, parseServer, STYLES } from "../sinks/syslog/options.js";
import { formatFrame, type SyslogFormat, type SyslogStyle } from "../sinks/syslog/format.js";

type Json = Record<string, unknown>;

interface Args extends SenderArgs {
  server: string;
  style: SyslogStyle;
  format: SyslogFormat;
  facility: string;
  ident: string;
  "max-size": number;
  kind?: RecordKind;
}

export const spec: CommandSpec<Args> = {
  name: "syslog-send",
  usage:
    "$0 [FILE...]\n\nWrites NDJSON records (FILEs or stdin, '-') to syslog as MozDef events: as one line of JSON (mozdef_client) or flattened `key: 'value' ` (mozdef_lib), with the syslog severity taken from the event's (DEBUG…EMERGENCY). Local socket, UDP, TCP or TLS (RFC 6587 octet counting); RFC 3164 or 5424 headers. Lines that cannot be delivered go to the dead-letter file.",
  examples: [
    ["xccdf2rules results.xml | $0", "findings to the local syslog (/dev/log)"],
    ["$0 --server tcp://loghost:514 --format 5424 --facility local0 < events.ndjson", "to a remote collector over TCP"],
    ["$0 --server tls://loghost:6514 --ca ca.pem --style flat", "over TLS, in mozdef_lib's flat form"],
  ],
  options: (y) =>
    senderOptions(
      y
        .option("server", { type: "string", default: "unix:///dev/log", describe: "unix:///dev/log (or a path), udp://host:514, tcp://host:514 or tls://host:6514" })
        .option("style", { type: "string", choices: STYLES, default: "json" as SyslogStyle, describe: "json (mozdef_client) or flat (mozdef_lib)" })
        .option("format", { type: "string", choices: FORMATS, default: "3164" as SyslogFormat, describe: "syslog header: RFC 3164 or RFC 5424" })
        .option("facility", { type: "string", default: "user", describe: "kern, user, mail, daemon, auth, …, local0-local7" })
        .option("ident", { type: "string", default: "syslog-send", describe: "program name in the header (mozdef_client: its script name)" })
        .option("max-size", { type: "number", default: 8192, describe: "largest syslog line in bytes; longer ones are cut, marked '[truncated N bytes]' and counted" })
        .option("kind", { type: "string", choices: RECORD_KINDS, describe: "treat every line as this kind instead of telling by shape" }),
      "syslog-send.dead.ndjson",
    ),
  async run(args, io) {
    const { tls } = checkSenderArgs(args, io);
    if (!(args["max-size"] >= 256)) throw new PipeError("E_USAGE", "--max-size must be at least 256 bytes");
    const server = parseServer(args.server);
    const syslog = {
      transport: { ...server, timeoutMs: args.timeout * 1000, retries: args.retries, maxSize: args["max-size"], tls },
      format: { style: args.style, format: args.format, facility: facilityNumber(args.facility), ident: args.ident, hostname: await resolveFqdn(), maxSize: args["max-size"] },
    };
    const deliverer = args["dry-run"] ? null : new Deliverer({ syslog });
    let previewTruncated = 0;
    await runSender<Json>({
      name: "syslog-send",
      args,
      io,
      prepare: (line) => lineToDocument(line, { kind: args.kind }),
      unitSize: 1,
      concurrency: 1,
      deliver: (docs) => deliverer!.deliver(docs),
      preview: (docs) =>
        docs
          .map((d) => {
            const f = formatFrame(d, { ...syslog.format, bare: server.kind === "unix" });
            if (f.truncatedBytes) previewTruncated++;
            return `${f.text}\n`;
          })
          .join(""),
      stop: () => deliverer?.stop(),
      close: async () => (await deliverer?.close()) ?? null,
      counters: () => ({ retried: 0, truncated: (deliverer?.truncated ?? 0) + previewTruncated }),
      maxSize: args["max-size"],
    });
  },
};

export const main = () => runCli(spec);
