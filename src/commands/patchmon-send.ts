import { PipeError } from "../errors.js";
import { runCli, type CommandSpec } from "../cli/run.js";
import { checkSenderArgs, printTo, runSender, senderOptions, type SenderArgs } from "../cli/sender.js";
import { DELIVERED } from "../delivery/outcome.js";
import { HttpSender } from "../delivery/http.js";
import { PatchmonDelivery, parsePayloadLine, type PatchmonItem } from "../sinks/patchmon/delivery.js";
import { patchmonSettings, PATCHMON_CONFIG } from "../sinks/patchmon/settings.js";

interface Args extends SenderArgs {
  server?: string;
  credentials?: string;
  config?: string;
  "max-body": number;
  "per-minute": number;
}

export const spec: CommandSpec<Args> = {
  name: "patchmon-send",
  usage:
    "$0 [FILE...]\n\nPOSTs scan payloads (rules2scan output, either format) to {server}/api/v1/compliance/scans with X-API-ID and X-API-KEY from PATCHMON_API_ID/PATCHMON_API_KEY, a --credentials file, or the agent's /etc/patchmon files (never from the command line). Each payload line is sent on its own (one is held at a time, so memory stays flat); its scans go in as few requests as the server's body limit allows, split again on 413, a scan too big alone slimmed down (raw_output, then remediation, descriptions, rationales), and paced to the server's 10 submissions a minute.",
  examples: [
    ["xccdf2rules results.arf | rules2scan --format patchmon | $0 --server https://patchmon.example.net", "upload a scan"],
    ["PATCHMON_API_ID=… PATCHMON_API_KEY=… $0 --server https://patchmon.example.net < patchmon-send.dead.ndjson", "replay what was not delivered"],
  ],
  options: (y) =>
    senderOptions(
      y
        .option("server", { type: "string", describe: "PatchMon server URL (default: $PATCHMON_SERVER, else patchmon_server in the agent's config.yml)" })
        .option("credentials", { type: "string", describe: "YAML file with api_id and api_key (default: the agent's credentials.yml)" })
        .option("config", { type: "string", describe: "the agent's config.yml", defaultDescription: PATCHMON_CONFIG })
        .option("max-body", { type: "number", default: 5 * 1000 * 1000, describe: "largest request body in bytes (the server's JSON_BODY_LIMIT, 5 MB by default)" })
        .option("per-minute", { type: "number", default: 10, describe: "requests per minute (the server allows 10 per API id); 0 = no pacing" }),
      "patchmon-send.dead.ndjson",
    ),
  async run(args, io) {
    const { failures, ...settings } = checkSenderArgs(args, io);
    const s = patchmonSettings({ server: args.server, credentials: args.credentials, config: args.config });
    if (!args["dry-run"]) {
      if (!s.server) throw new PipeError("E_USAGE", "no PatchMon server: give --server, set PATCHMON_SERVER, or patchmon_server in /etc/patchmon/config.yml");
      if (!s.apiId || !s.apiKey) {
        const missing = !s.apiId ? "api id (PATCHMON_API_ID / api_id)" : "api key (PATCHMON_API_KEY / api_key)";
        throw new PipeError("E_USAGE", `no ${missing}${s.credentialsFrom ? ` in ${s.credentialsFrom}` : ""}: set PATCHMON_API_ID and PATCHMON_API_KEY, or give --credentials FILE`);
      }
    }
    const base = new URL(s.server ?? "http://dry-run.invalid");
    const path = `${base.pathname.replace(/\/$/, "")}/api/v1/compliance/scans`;
    const sender = args["dry-run"] ? null : new HttpSender({ url: base.origin, ...settings, connections: 1, headers: { "x-api-id": s.apiId!, "x-api-key": s.apiKey! } });
    const delivery = sender ? new PatchmonDelivery({ sender, path, maxBody: args["max-body"], perMinute: args["per-minute"], warn: io.warn }) : null;
    await runSender<PatchmonItem>(
      { name: "patchmon-send", args, io, unitSize: 1, concurrency: 1, failures, largeRecords: true },
      {
        prepare: parsePayloadLine,
        deliver: delivery ? (items) => delivery.deliver(items) : printTo(io.stdout, (items: PatchmonItem[]) => items.map((it) => `${it.line}\n`).join("")),
        stop: () => sender?.stop(),
        close: async (stats) => {
          await sender?.close();
          if (delivery?.authFailed) {
            throw new PipeError("E_LOST", `the server refused the API credentials from ${s.credentialsFrom} (${delivery.authFailed}); nothing more was sent; ${stats.deadLettered} record(s) kept in ${args["dead-letter"]}`);
          }
          return DELIVERED;
        },
        counters: () => ({ retried: sender?.retried ?? 0, truncated: 0 }),
      },
    );
  },
};

export const main = () => runCli(spec);
