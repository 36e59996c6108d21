import { payloadText } from "../../sinks/patchmon/payloads.js";
import type { ScanGroup } from "../../sinks/patchmon/scans.js";
import type { StoredScan } from "./outbox.js";

type Json = Record<string, unknown>;

/**
 * The upload bodies of one finished scan, as rules2scan --format patchmon
 * writes them (one per host; a local scan has one), with what the agent
 * adds: scan_type, and the remediation fields the compliance hash reads.
 */
export function scanPayloads(groups: ScanGroup[], o: { scanType: StoredScan["scan_type"]; capabilities?: Json; remediate: boolean; fixed: number; now?: string }): (Json & { scans: Json[] })[] {
  const text = [...payloadText(groups, { format: "patchmon", capabilities: o.capabilities, now: o.now })].join("");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const p = JSON.parse(line) as Json & { scans: Json[] };
      p.scan_type = o.scanType;
      for (const s of p.scans) {
        s.remediation_applied = o.remediate;
        s.remediation_count = o.fixed;
      }
      return p;
    });
}
