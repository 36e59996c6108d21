import { goIdString } from "../../util/go-json.js";
import type { ComplianceItem, MatchedFile, MigCommand } from "../../types.js";

export type KeyOrder = "current" | "2016";

export interface ItemOptions {
  migApi: string;
  utctimestamp: string;
  keyOrder: KeyOrder;
  withAddresses: boolean;
}

export interface CommandOutcome {
  items: ComplianceItem[];
  /** Module results that were not the file module (or had no operation). */
  skippedResults: number;
  /** Problems worth an error line; the command's other items are still produced. */
  problems: string[];
}

// the original's fixed filter order and the word each list is printed as
const FILTERS = [
  ["names", "name"],
  ["sizes", "size"],
  ["modes", "mode"],
  ["mtimes", "mtime"],
  ["contents", "content"],
  ["md5", "md5"],
  ["sha1", "sha1"],
  ["sha2", "sha2"],
  ["sha3", "sha3"],
] as const;

/** `name='…' and content='…'`: values go in raw, as the original does. */
export function testValue(search: MatchedFile["search"]): string {
  const parts: string[] = [];
  for (const [list, word] of FILTERS) for (const v of search[list] ?? []) parts.push(`${word}='${v}'`);
  return parts.join(" and ");
}

/**
 * The items the runner-compliance plugin builds from one command: one per
 * (file-module result, search label, matched-file entry). Labels are sorted
 * (the original iterated a Go map: random order).
 */
export function commandToItems(cmd: MigCommand, opts: ItemOptions): CommandOutcome {
  const out: CommandOutcome = { items: [], skippedResults: 0, problems: [] };
  if (cmd.status === "failed") out.problems.push("command status is 'failed'");
  if (!cmd.results) return out;
  if (!Array.isArray(cmd.results)) {
    out.problems.push("results is not a list");
    return out;
  }
  const operations = cmd.action?.operations ?? [];
  cmd.results.forEach((result, i) => {
    if (i >= operations.length || operations[i]?.module !== "file") {
      out.skippedResults++;
      return;
    }
    const elements = result?.elements;
    if (elements === null || elements === undefined) return;
    if (typeof elements !== "object" || Array.isArray(elements)) {
      out.problems.push(`result ${i}: elements is not an object of search labels`);
      return;
    }
    for (const label of Object.keys(elements).sort()) {
      const entries = (elements as Record<string, unknown>)[label];
      if (!Array.isArray(entries)) {
        out.problems.push(`result ${i} label '${label}': not a list of matched files`);
        continue;
      }
      entries.forEach((entry, j) => {
        if (!isMatchedFile(entry)) {
          out.problems.push(`result ${i} label '${label}' entry ${j}: malformed (needs file and search)`);
          return;
        }
        out.items.push(buildItem(cmd, label, entry, opts));
      });
    }
  });
  return out;
}

function isMatchedFile(v: unknown): v is MatchedFile {
  const o = v as MatchedFile;
  return typeof o === "object" && o !== null && typeof o.file === "string" && typeof o.search === "object" && o.search !== null;
}

function buildItem(cmd: MigCommand, label: string, entry: MatchedFile, opts: ItemOptions): ComplianceItem {
  const action = cmd.action ?? ({} as MigCommand["action"]);
  const compliance = entry.file !== "";
  const policy = { name: action.threat?.type ?? "", url: action.description?.url ?? "", level: action.threat?.level ?? "" };
  const check = {
    ref: action.threat?.ref ?? "",
    description: action.name ?? "",
    name: label,
    location: compliance ? entry.file : (entry.search.paths ?? []).join(", "),
    test: { type: "file", value: testValue(entry.search) },
  };
  const link = `${opts.migApi}/command?commandid=${goIdString(cmd.id)}`;
  const tags = agentTags(cmd, opts.keyOrder);
  const target = cmd.agent?.name ?? "";
  const item: ComplianceItem =
    opts.keyOrder === "2016"
      ? ({ utctimestamp: opts.utctimestamp, target, policy, check, compliance, link, tags } as ComplianceItem)
      : { utctimestamp: opts.utctimestamp, target, compliance, link, tags, policy, check };
  const addresses = cmd.agent?.environment?.addresses;
  if (opts.withAddresses && Array.isArray(addresses) && addresses.length) item.agent_addresses = addresses.map(String);
  return item;
}

/**
 * Today's plugin meant `{operator}` when the agent has an operator tag (and
 * panicked on its nil map); the 2016 plugin set `{operator, team}` for any
 * agent with tags (team added by enrich-owner).
 */
function agentTags(cmd: MigCommand, keyOrder: KeyOrder): Record<string, string> | null {
  const tags = cmd.agent?.tags;
  if (!tags || typeof tags !== "object") return null;
  const operator = tags.operator;
  if (keyOrder === "2016") return { operator: typeof operator === "string" ? operator : "" };
  return typeof operator === "string" ? { operator } : null;
}
