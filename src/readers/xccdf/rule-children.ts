// What XccdfReader makes of the children of a Benchmark's items: which it skips unread, and how a
// Rule's texts become its metadata. Shared by the element-by-element reading and the plain Rule
// reader (plain-rule.ts), which must agree exactly.
import { collapse } from "./fields.js";
import type { RuleMeta } from "./line.js";

/** XHTML elements that separate words when their text is flattened. */
export const BLOCK = new Set(["p", "br", "li", "div", "pre", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "dd", "dt"]);

// XCCDF 1.1/1.2 children whose content no line holds, skipped unread.
const COMMON_UNREAD = ["warning", "question", "status", "dc-status", "version", "metadata", "signature"];
const UNREAD_IN_RULE = new Set([...COMMON_UNREAD, "check", "complex-check", "platform", "requires", "conflicts", "profile-note", "impact-metric"]);
export const UNREAD_IN_GROUP = new Set([...COMMON_UNREAD, "title", "description", "reference", "rationale", "platform", "requires", "conflicts"]);
export const UNREAD_IN_VALUE = new Set([...COMMON_UNREAD, "title", "description", "reference", "choices", "default", "lower-bound", "upper-bound", "match", "source", "complex-value", "complex-default"]);
export const UNREAD_IN_PROFILE = new Set([...COMMON_UNREAD, "select", "refine-value", "refine-rule", "set-value", "set-complex-value", "description", "reference", "platform"]);

/**
 * True for a child of a Rule skipped unread: its checks, warnings and the
 * like, and the fix scripts after its first (SSG writes up to six per Rule).
 * `meta`: the Rule's metadata read so far.
 */
export function unreadInRule(meta: RuleMeta | undefined, local: string): boolean {
  if (local === "fix") return meta !== undefined && (meta.fix !== undefined || meta.fixtext !== undefined);
  if (local === "fixtext") return meta !== undefined && meta.fixtext !== undefined;
  return UNREAD_IN_RULE.has(local);
}

export type RuleTextKind = "rule-title" | "rule-description" | "rule-rationale" | "rule-fixtext" | "rule-fix" | "rule-ident" | "rule-reference";

/** The text a Rule's child (by its local name) gives its metadata, if any. */
export function ruleTextKind(local: string): RuleTextKind | null {
  switch (local) {
    case "title":
      return "rule-title";
    case "description":
      return "rule-description";
    case "rationale":
      return "rule-rationale";
    case "fixtext":
      return "rule-fixtext";
    case "fix":
      return "rule-fix";
    case "ident":
      return "rule-ident";
    case "reference":
      return "rule-reference";
  }
  return null;
}

/**
 * Stores a Rule child's flattened text (`raw`: its text, markup dropped,
 * `sub` replaced) in the Rule's metadata. `attributes`: the child's.
 */
export function storeRuleText(meta: RuleMeta, kind: RuleTextKind, raw: string, attributes: Record<string, string>): void {
  switch (kind) {
    case "rule-title":
      if (preferLang(meta.titleLang, meta.title, attributes)) {
        meta.title = collapse(raw);
        meta.titleLang = attributes["xml:lang"];
      }
      break;
    case "rule-description":
      if (meta.description === undefined) meta.description = plainDescription(raw);
      break;
    case "rule-rationale":
      if (meta.rationale === undefined) meta.rationale = collapse(raw);
      break;
    case "rule-fixtext":
      if (meta.fixtext === undefined && raw.trim()) meta.fixtext = collapse(raw);
      break;
    case "rule-fix":
      if (meta.fix === undefined && raw.trim()) meta.fix = raw.trim();
      break;
    case "rule-ident":
      if (raw.trim()) meta.idents.push({ system: attributes.system ?? "", value: raw.trim() });
      break;
    case "rule-reference":
      meta.references.push({ href: attributes.href ?? "", value: collapse(raw) });
      break;
  }
}

/** A title in English wins over one in another language; else the first one. */
function preferLang(storedLang: string | undefined, stored: string | undefined, attributes: Record<string, string>): boolean {
  if (stored === undefined) return true;
  const lang = attributes["xml:lang"];
  return !storedLang?.startsWith("en") && lang !== undefined && lang.startsWith("en");
}

/**
 * DISA STIG content carries its description as escaped pseudo-XML
 * (`<VulnDiscussion>…</VulnDiscussion><FalsePositives>…`); the discussion is the description.
 */
function plainDescription(raw: string): string {
  // the test first: the expression is compiled at its first use, ~25 us, for descriptions that are not STIG's
  const vuln = raw.includes("<VulnDiscussion>") ? /<VulnDiscussion>([\s\S]*?)<\/VulnDiscussion>/.exec(raw) : null;
  return collapse(vuln ? vuln[1] : raw);
}
