import { createReadStream } from "node:fs";
import { XmlScanner, type OpenTag, type XmlEvents } from "../xml/scanner.js";

/**
 * Collects each Profile's first description from a Benchmark, as plain text
 * with its white space collapsed. Everything else is skipped unparsed, and
 * the first Value, Group or Rule of the Benchmark (which come after its
 * Profiles) ends the search.
 */
class ProfileDescriptions implements XmlEvents {
  readonly found = new Map<string, string>();
  done = false;
  /** Every open() gets one close(), skipped and self-closing elements too. */
  private depth = 0;
  /** Depth of the Benchmark element, 0 until it opens. */
  private benchmark = 0;
  private profileId: string | null = null;
  private pieces: string[] | null = null;

  get wantsText(): boolean {
    return this.pieces !== null;
  }

  open(tag: OpenTag): boolean {
    const depth = ++this.depth;
    if (!this.benchmark) {
      if (tag.local === "Benchmark") this.benchmark = depth;
      return false;
    }
    if (depth === this.benchmark + 1) {
      if (tag.local === "Value" || tag.local === "Group" || tag.local === "Rule") this.done = true;
      if (tag.local !== "Profile") return true;
      this.profileId = tag.attributes.id ?? null;
      return false;
    }
    if (depth === this.benchmark + 2) {
      if (tag.local !== "description" || this.profileId === null || this.found.has(this.profileId)) return true;
      this.pieces = [];
    }
    // anything deeper is the description's markup: its text is kept
    return false;
  }

  close(): void {
    const depth = this.depth--;
    if (depth === this.benchmark + 2 && this.pieces !== null) {
      this.found.set(this.profileId!, this.pieces.join("").replace(/\s+/g, " ").trim());
      this.pieces = null;
    } else if (depth === this.benchmark + 1) this.profileId = null;
    else if (depth === this.benchmark) this.done = true;
  }

  text(text: string): void {
    this.pieces?.push(text);
  }
}

/**
 * The description of each Profile of the Benchmark in an SCAP data stream
 * (or XCCDF file), by profile id, read in one streaming pass that stops at
 * the end of the Profiles: oscap gives them only one profile at a time.
 */
export async function readProfileDescriptions(file: string): Promise<Map<string, string>> {
  const events = new ProfileDescriptions();
  const scanner = new XmlScanner(events, { source: file });
  const stream = createReadStream(file);
  try {
    for await (const chunk of stream) {
      scanner.write(chunk as Buffer);
      if (events.done) return events.found;
    }
    scanner.end();
    return events.found;
  } finally {
    stream.destroy();
  }
}
