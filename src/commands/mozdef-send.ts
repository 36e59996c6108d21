import { PipeError } from "../errors.js";
import { runCli, type CommandSpec } from "../cli/run.js";
import { configOption, loadRunnerComplianceConfig } from "../cli/runner-config.js";
import { checkSenderArgs, printTo, runSender, senderOptions, type SenderArgs } from "../cli/sender.js";
import { SERVERS, syslogOption, syslogSenderOptions, syslogStatsNote } from "../cli/syslog-options.js";
import { Deliverer, type DelivererOptions } from "../sinks/mozdef/deliver.js";
import { parseHttpUrl } from "../delivery/http.js";
import { DELIVERED } from "../delivery/outcome.js";
import { lineToEvent, RECORD_KINDS, type RecordKind } from "../sinks/mozdef/records.js";
import { resolveFqdn } from "../sinks/mozdef/host.js";
import type { SyslogStyle } from "../sinks/mozdef/syslog-line.js";
import type { SyslogFormat } from "../sinks/syslog/format.js";
import type { Json } from "../types.js";

interface Args extends SenderArgs {
  url?: string;
  config?: string;
  kind?: RecordKind;
  "include-notapplicable": boolean;
  batch: number;
  "link-base"?: string;
  "max-size": number;
  "also-syslog": boolean;
  "only-syslog": boolean;
  "syslog-server": string;
  "syslog-style": SyslogStyle;
  "syslog-format": SyslogFormat;
  facility: string;
  "sqs-queue"?: string;
  "sqs-region"?: string;
  "sqs-account"?: string;
  "sqs-endpoint"?: string;
}

export const spec: CommandSpec<Args> = {
  name: "mozdef-send",
  usage:
    "$0 [FILE...]\n\nSends NDJSON records (FILEs or stdin, '-') to MozDef: generic events, compliance items (bare ones get MIG's envelope), vulnerability events, asset hints and RuleResult lines (as compliance items). Each record is validated as mozdef_client does; every record read is either acknowledged by the server or written to the dead-letter file with the reason (exit 1).",
  examples: [
    ["xccdf2rules results.arf | $0 --url https://mozdef.example.net/events", "OpenSCAP findings into MozDef"],
    ["runner2compliance | enrich-owner | $0", "the MIG plugin path ([mozdef] url from /etc/mig/runner-compliance.conf)"],
    ["$0 --url http://mozdef:8080/_bulk --batch 200 --concurrency 8 < events.ndjson", "bulk load"],
    ["$0 --url https://mozdef/events < mozdef-send.dead.ndjson", "replay what was not delivered"],
  ],
  options: (y) =>
    senderOptions(
      y
        .option("url", { type: "string", describe: "MozDef endpoint, e.g. http://mozdef:8080/events, /custom/<app> or /_bulk (default: $MOZDEF_URL, else [mozdef] url of the config)" })
        .option("config", configOption(" with [mozdef] url"))
        .option("kind", { type: "string", choices: RECORD_KINDS, describe: "treat every line as this kind instead of telling by shape" })
        .option("include-notapplicable", { type: "boolean", default: false, describe: "send RuleResults that did not apply or were not checked (notapplicable, notchecked), with a neutral summary; by default they are left out and counted" })
        .option("batch", { type: "number", default: 1, describe: "events per request; > 1 posts JSON arrays, which only MozDef's /_bulk takes" })
        .option("link-base", { type: "string", describe: "URL the rule id is appended to for a RuleResult's link (default: its CIS benchmark reference, else none)" })
        .option("max-size", { type: "number", default: 1024 * 1024, describe: "largest event in bytes; bigger ones are dead-lettered (an input line over twice this, as it streams past, without being held)" })
        .option("also-syslog", { type: "boolean", default: false, describe: "also write each event to syslog (mozdef_client's set_send_to_syslog)" })
        .option("only-syslog", { type: "boolean", default: false, describe: "write to syslog only, no HTTP" })
        .option("syslog-server", syslogOption.server(SERVERS))
        .option("syslog-style", syslogOption.style)
        .option("syslog-format", syslogOption.format)
        .option("facility", syslogOption.facility("syslog facility"))
        .option("sqs-queue", { type: "string", describe: "send to this SQS queue instead of HTTP (AWS credentials from the SDK's usual chain)" })
        .option("sqs-region", { type: "string", describe: "SQS region (default: the SDK's)" })
        .option("sqs-account", { type: "string", describe: "AWS account id owning the queue" })
        .option("sqs-endpoint", { type: "string", describe: "SQS endpoint override" }),
      "mozdef-send.dead.ndjson",
    ),
  async run(args, io) {
    const { failures, ...settings } = checkSenderArgs(args, io);
    if (!(args.batch >= 1) || !Number.isInteger(args.batch)) throw new PipeError("E_USAGE", "--batch must be a whole number ≥ 1");
    const url = args.url ?? process.env.MOZDEF_URL ?? (args["only-syslog"] || args["sqs-queue"] ? undefined : loadRunnerComplianceConfig(args.config).mozdefUrl);
    const httpWanted = !args["only-syslog"] && !args["sqs-queue"];
    if (httpWanted && !url && !args["dry-run"]) throw new PipeError("E_USAGE", "no MozDef URL: give --url, set MOZDEF_URL, or [mozdef] url in the config file");
    if (args.batch > 1 && httpWanted && url && !/\/_bulk\/?$/.test(parseHttpUrl(url).pathname)) {
      throw new PipeError("E_USAGE", `--batch ${args.batch} posts JSON arrays, which only MozDef's /_bulk endpoint accepts (URL is ${url})`);
    }
    const hostname = await resolveFqdn();
    const syslogMaxSize = Math.min(args["max-size"], 64 * 1024);
    const delivery: DelivererOptions = {};
    if (httpWanted && url) delivery.http = { url, ...settings, batch: args.batch };
    if (args["sqs-queue"]) delivery.sqs = { queue: args["sqs-queue"], region: args["sqs-region"], accountId: args["sqs-account"], endpoint: args["sqs-endpoint"], retries: args.retries, outage: settings.outage };
    if (args["also-syslog"] || args["only-syslog"]) {
      const choices = { server: args["syslog-server"], style: args["syslog-style"], format: args["syslog-format"], facility: args.facility };
      delivery.syslog = syslogSenderOptions({ ...choices, ident: "mozdef-send", maxSize: syslogMaxSize, hostname }, settings);
    }
    const deliverer = args["dry-run"] ? null : new Deliverer(delivery);
    const docOpts = { kind: args.kind, linkBase: args["link-base"], includeNotApplicable: args["include-notapplicable"], hostname };
    // the document is kept past its serialisation only when syslog or a dry run needs it: a batch in flight holds its bodies alone
    const keepDoc = !deliverer || deliverer.needsEvents;
    type Item = { doc?: Json; body: string };
    await runSender<Item>(
      {
        name: "mozdef-send",
        args,
        io,
        unitSize: deliverer?.batchSize ?? 1,
        concurrency: args.concurrency,
        maxSize: delivery.syslog?.line.maxSize,
        // a line may be longer than its event (a dead-letter line escapes it); one over twice the limit is taken as over it
        maxLineLength: 2 * args["max-size"] + 64 * 1024,
        failures,
      },
      {
        prepare: (line) => {
          const event = lineToEvent(line, docOpts);
          if (!event) return null;
          const { doc, body } = event; // serialised once: sized here, sent as it is
          const size = Buffer.byteLength(body);
          if (size > args["max-size"]) throw new Error(`event of ${size} bytes is over --max-size ${args["max-size"]}`);
          return keepDoc ? { doc, body } : { body };
        },
        deliver: deliverer
          ? (items) => deliverer.deliverBodies(items.map((i) => i.body), keepDoc ? items.map((i) => i.doc!) : undefined)
          : printTo(io.stdout, (items: Item[]) => items.map((i) => `${JSON.stringify(i.doc)}\n`).join("")),
        stop: () => deliverer?.stop(),
        close: async () => (await deliverer?.close()) ?? DELIVERED,
        counters: () => ({ retried: deliverer?.retried ?? 0, truncated: deliverer?.truncated ?? 0, more: syslogStatsNote(args["syslog-server"], deliverer?.syslog?.stats()) }),
      },
    );
  },
};

export const main = () => runCli(spec);
