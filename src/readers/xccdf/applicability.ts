/**
 * Watches a results document's lines for content that does not match the
 * host: a scan whose every selected rule is notapplicable (oscap found none
 * of the content's CPE platforms on it) says nothing, and looks like a clean one.
 */
export class NotApplicableWatch {
  /** Lines of selected rules seen (notselected ones, emitted on request, do not count). */
  private selected = 0;
  private applicable = false;

  /** Looks at lines as the reader writes them, until one applies. */
  see(lines: Buffer): void {
    if (this.applicable) return;
    // these bytes cannot occur inside a JSON string, whose quotes are escaped
    const selected = count(lines, LINE_FEED) - count(lines, NOT_SELECTED);
    this.selected += selected;
    if (count(lines, NOT_APPLICABLE) < selected) this.applicable = true;
  }

  /** The warning to give once the document is read, if every selected rule was notapplicable. */
  warning(): string | undefined {
    if (this.applicable || this.selected === 0) return undefined;
    return `all ${this.selected} rules are notapplicable: the content probably does not match this host (CPE platform)`;
  }
}

const LINE_FEED = Buffer.from("\n");
const NOT_APPLICABLE = Buffer.from('"raw_status":"notapplicable"');
const NOT_SELECTED = Buffer.from('"raw_status":"notselected"');

function count(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) n++;
  return n;
}
