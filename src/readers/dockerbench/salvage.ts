import { META_KEYS, gen0Check, type DockerBenchCheck, type DockerBenchJsonReader } from "./reader.js";

const KEYS = "id|desc|result|details|items|remediation|remediation-impact";
const NEXT = `(?=\\s*,\\s*"(?:${KEYS})"\\s*:|\\s*\\}\\s*,?\\s*$)`;
const STRING_FIELD = new Map(["id", "desc", "result", "details", "remediation", "remediation-impact"].map((k) => [k, new RegExp(`"${k}"\\s*:\\s*"([\\s\\S]*?)"${NEXT}`)]));
const ITEMS_FIELD = new RegExp(`"items"\\s*:\\s*\\[([\\s\\S]*?)\\]${NEXT}`);
const GEN0_LINE = /^"([^"]+)"\s*:\s*"(.*)"\s*,?$/;
const GROUP_START = /"(?:results|items)"\s*:\s*\[\s*$/;

export interface LostCheck {
  firstLine: number;
  lastLine: number;
  why: string;
}

/**
 * Docker Bench writes JSON with printf and no escaping, so a quote or
 * backslash in a container name breaks the document. From the line where
 * parsing failed on, this reads checks by their known key layout instead:
 * a string value ends at the last quote before the next known key or the
 * closing brace. Whatever still cannot be read is reported as lost.
 */
export class DockerBenchSalvage {
  ready: DockerBenchCheck[] = [];
  lost: LostCheck[] = [];
  group: string | undefined;

  private buf: string[] = [];
  private bufStart = 0;

  constructor(group?: string) {
    this.group = group;
  }

  /** Starts where the JSON reader gave up: its current group and the lines of its unfinished check. */
  static takeOver(json: DockerBenchJsonReader, lastLine: number): DockerBenchSalvage {
    const salvage = new DockerBenchSalvage(json.currentGroup);
    // openLines has no blank lines: each line's number from its index among all lines written
    const last = json.linesWritten - 1;
    for (const line of json.openLines) salvage.writeLine(line.text, lastLine - (last - line.index));
    return salvage;
  }

  writeLine(text: string, number: number): void {
    const t = text.trim();
    if (!this.buf.length) {
      if (t.startsWith("{")) {
        this.buf = [t];
        this.bufStart = number;
        this.tryGroupOrCheck(number);
        return;
      }
      const gen0 = GEN0_LINE.exec(t);
      if (gen0 && !META_KEYS.has(gen0[1])) this.ready.push(gen0Check(gen0[1], gen0[2]));
      return;
    }
    // a blank line adds nothing to the check (and joining it in again and again made blank lines quadratic)
    if (!t) return;
    this.buf.push(t);
    this.tryGroupOrCheck(number);
  }

  end(lastLine: number): void {
    if (this.buf.length) this.finishCheck(lastLine, "log ends inside this check");
  }

  private tryGroupOrCheck(number: number): void {
    const joined = this.buf.join("\n");
    if (GROUP_START.test(joined)) {
      const id = STRING_FIELD.get("id")!.exec(joined.replace(GROUP_START, "}"));
      if (id) this.group = id[1];
      this.buf = [];
      return;
    }
    const last = this.buf[this.buf.length - 1];
    if (/\}\s*,?$/.test(last) && !/^\{\s*$/.test(last)) this.finishCheck(number, "no id and result could be read");
  }

  private finishCheck(number: number, why: string): void {
    const joined = this.buf.join("\n");
    this.buf = [];
    const fields: Record<string, string> = {};
    for (const [key, re] of STRING_FIELD) {
      const m = re.exec(joined);
      if (m) fields[key] = m[1];
    }
    if (!fields.id || !fields.result) {
      this.lost.push({ firstLine: this.bufStart, lastLine: number, why });
      return;
    }
    const check: DockerBenchCheck = { id: fields.id, result: fields.result, group: this.group };
    if (fields.desc !== undefined) check.desc = fields.desc;
    if (fields.details !== undefined) check.details = fields.details;
    if (fields.remediation !== undefined) check.remediation = fields.remediation;
    if (fields["remediation-impact"] !== undefined) check["remediation-impact"] = fields["remediation-impact"];
    const items = ITEMS_FIELD.exec(joined);
    if (items && items[1].trim()) check.items = items[1].trim().replace(/^"|"$/g, "").split(/"\s*,\s*"/);
    this.ready.push(check);
  }
}
