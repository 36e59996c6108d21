import type { DockerBenchCheck } from "./reader.js";

const ANSI = /\x1b\[[0-9;]*m/g;
const CHECK_LINE = /^\[(PASS|WARN|INFO|NOTE)\]\s+([0-9A-Z]+(?:\.[0-9]+)*)\s+-\s+(.*)$/;
const DETAIL_LINE = /^(?:\[(?:PASS|WARN|INFO|NOTE)\])?\s+\*\s+(.*)$/;

/**
 * Docker Bench's console output (`[WARN] 1.1 - Ensure ...` lines, `* detail`
 * lines under a check), for when only the text log was kept.
 */
export class DockerBenchTextReader {
  ready: DockerBenchCheck[] = [];
  checksSeen = 0;
  private current: DockerBenchCheck | null = null;

  writeLine(raw: string): void {
    const line = raw.replace(ANSI, "").trimEnd();
    const check = CHECK_LINE.exec(line);
    if (check) {
      const [, result, id, desc] = check;
      // "[INFO] 1 - Host Configuration" heads a section; it is not a check
      if (result === "INFO" && !id.includes(".")) {
        this.flush();
        return;
      }
      const previous = this.current;
      // v1.6 also heads subsections ("[INFO] 1.1 - Linux Hosts Specific Configuration")
      if (previous && previous.result === "INFO" && !previous.details && id.startsWith(`${previous.id}.`)) this.current = null;
      this.flush();
      this.current = { id, result, desc: desc.trim() };
      return;
    }
    const detail = DETAIL_LINE.exec(line);
    if (detail && this.current) {
      const text = detail[1].trim();
      const remediation = /^Remediation(?: Impact)?:\s*(.*)$/i.exec(text);
      if (remediation && /^Remediation Impact/i.test(text)) this.current["remediation-impact"] = remediation[1];
      else if (remediation) this.current.remediation = remediation[1];
      else this.current.details = this.current.details ? `${this.current.details}\n${text}` : text;
    }
  }

  end(): void {
    this.flush();
  }

  private flush(): void {
    if (this.current) {
      this.ready.push(this.current);
      this.checksSeen++;
    }
    this.current = null;
  }
}
