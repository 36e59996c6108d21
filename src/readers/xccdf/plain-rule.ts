import { Char, INCOMPLETE, PLAIN_TEXT, PLAIN_VALUE_GROUP, SyntaxFault, decodeText, endTagCloses, escapeRegExp, findEndTag, parsePlainStartTag, parseStartTag } from "../../xml/syntax.js";
import { isNamespaceDeclaration, localOf } from "../../xml/elements.js";
import { collapse, mayBeOverField, xccdfSeverity } from "./fields.js";
import { plainText } from "./plain-rule-result.js";
import type { RuleMeta } from "./line.js";
import { BLOCK, ruleTextKind, storeRuleText, unreadInRule } from "./rule-children.js";

/**
 * Reads a kept Rule (its content, between its tags, and its start tag's
 * attributes) straight from its text, as the element-by-element reading
 * would read it, when it has the usual shape: children known by name
 * (texts, references and idents read; checks, warnings, platforms and the
 * fixes after the first skipped unread, as in place), each whole and well
 * formed, their markup only elements (no comment, CDATA or instruction),
 * no namespace declared in a child's start tag, no text over maxField.
 * Returns its metadata (section not yet set), or undefined for anything else,
 * which the caller then reads element by element (and where it reports any
 * fault). `valueOf`: a Value's text as the Rule sees it (for `sub`).
 * Measured on the Ubuntu CIS ARF (its lines name 273 Rules of ~12 KB, each
 * with ~100 references), time in readKept, fastest (median) of 10 alternating
 * runs: element by element 89 (106) ms, so 63 (81) ms, and with each plain
 * reference matched by one pattern (referencePattern) 41 (51) ms.
 */
export function readPlainRule(name: string, attributes: Record<string, string>, content: string, valueOf: (id: string) => string | undefined, maxField: number): RuleMeta | undefined {
  const meta: RuleMeta = { severity: xccdfSeverity(attributes.severity), idents: [], references: [] };
  const reference = referencesRead > REFERENCES_BEFORE_PATTERN ? referencePattern(name.slice(0, name.length - "Rule".length)) : undefined;
  let pos = 0;
  for (;;) {
    // text between children is not read in place either
    const lt = content.indexOf("<", pos);
    if (lt < 0) return meta;
    if (reference) {
      reference.lastIndex = lt;
      const ref = reference.exec(content);
      if (ref && !mayBeOverField(ref[1].length, maxField) && !mayBeOverField(ref[2].length, maxField)) {
        meta.references.push({ href: ref[1], value: collapse(ref[2]) });
        pos = reference.lastIndex;
        continue;
      }
    }
    const tag = parsePlainStartTag(content, lt);
    if (!tag || declaresNamespace(tag.attributes) || tooLong(tag.attributes, maxField)) return undefined;
    const local = localOf(tag.name);
    if (unreadInRule(meta, local)) {
      if (tag.selfClosing) pos = tag.end;
      else {
        const [at, end] = findEndTag(content, `</${tag.name}`, tag.end);
        if (at === INCOMPLETE) return undefined;
        pos = end;
      }
      continue;
    }
    const kind = ruleTextKind(local);
    if (!kind || tag.selfClosing) return undefined;
    if (local === "reference") referencesRead++;
    // plain text (most of them: an SSG CIS Rule has ~100 references), else text with markup or references
    let raw: string | undefined;
    const plain = plainText(content, tag.end, tag.name);
    if (plain) [raw, pos] = plain;
    else {
      const [at, end] = findEndTag(content, `</${tag.name}`, tag.end);
      if (at === INCOMPLETE) return undefined;
      raw = flatText(content, tag.end, at, valueOf);
      pos = end;
    }
    if (raw === undefined || mayBeOverField(raw.length, maxField)) return undefined;
    storeRuleText(meta, kind, raw, tag.attributes);
  }
}

const referencePatterns = new Map<string, RegExp>();

/**
 * References read tag by tag (in this process) before referencePattern reads
 * them: V8 compiles it at its first use (~50 us), more than a small report's
 * few references cost read tag by tag; a CIS Rule has ~100.
 */
const REFERENCES_BEFORE_PATTERN = 64;
let referencesRead = 0;

/**
 * A Rule's reference as SSG writes it (~100 of the ~12 KB of an SSG CIS
 * Rule): an href with a plain value, plain text, the Rule's prefix. Its
 * groups: the href and the text, read as parsePlainStartTag and plainText
 * read them (measured: see readPlainRule).
 */
function referencePattern(prefix: string): RegExp {
  let pattern = referencePatterns.get(prefix);
  if (!pattern) {
    const p = escapeRegExp(prefix);
    pattern = new RegExp(`<${p}reference href=${PLAIN_VALUE_GROUP}>(${PLAIN_TEXT})</${p}reference>`, "y");
    // a handful of prefixes in a real document; a crafted one could bring many
    if (referencePatterns.size >= 64) referencePatterns.clear();
    referencePatterns.set(prefix, pattern);
  }
  return pattern;
}

/**
 * The text of buf[from, to) as a capture gathers it: references decoded,
 * markup dropped, a space for each start and end of an XHTML block, a `sub`
 * replaced by its Value. Undefined unless its elements are well formed and
 * balanced, with nothing but elements and text (no comment, CDATA or
 * processing instruction).
 */
function flatText(buf: string, from: number, to: number, valueOf: (id: string) => string | undefined): string | undefined {
  const lt = buf.indexOf("<", from);
  // most texts: no markup, no reference
  if (lt < 0 || lt >= to) return decoded(buf.slice(from, to), from);
  let text = "";
  const open: string[] = [];
  let pos = from;
  for (;;) {
    const next = buf.indexOf("<", pos);
    const stop = next < 0 || next >= to ? to : next;
    if (stop > pos) {
      const piece = decoded(buf.slice(pos, stop), pos);
      if (piece === undefined) return undefined;
      text += piece;
    }
    if (stop === to) return open.length ? undefined : text;
    const c = buf.charCodeAt(stop + 1);
    if (c === Char.Slash) {
      const gt = buf.indexOf(">", stop);
      const name = open.pop();
      if (gt < 0 || gt >= to || name === undefined) return undefined;
      if (!endTagCloses(buf, stop, gt, name)) return undefined;
      if (BLOCK.has(localOf(name))) text += " ";
      pos = gt + 1;
      continue;
    }
    if (c === Char.Bang || c === Char.Question) return undefined;
    let tag;
    try {
      tag = parseStartTag(buf, stop);
    } catch (fault) {
      if (fault instanceof SyntaxFault) return undefined;
      throw fault;
    }
    if (tag === INCOMPLETE || tag.end > to) return undefined;
    const local = localOf(tag.name);
    if (local === "sub") {
      const idref = tag.attributes.idref ?? "";
      text += valueOf(idref) ?? idref;
    } else if (BLOCK.has(local)) text += tag.selfClosing ? "  " : " ";
    // a block's end gives its space too, an empty element's (`<br/>`) as well
    if (!tag.selfClosing) open.push(tag.name);
    pos = tag.end;
  }
}

/** Text with its references decoded; undefined if one is at fault. */
function decoded(text: string, offset: number): string | undefined {
  try {
    return decodeText(text, offset);
  } catch (fault) {
    if (fault instanceof SyntaxFault) return undefined;
    throw fault;
  }
}

function declaresNamespace(attributes: Record<string, string>): boolean {
  for (const key in attributes) if (isNamespaceDeclaration(key)) return true;
  return false;
}

/** True if a value may be over maxField bytes (then read in place, where it is truncated and told of). */
function tooLong(attributes: Record<string, string>, maxField: number): boolean {
  for (const key in attributes) if (mayBeOverField(attributes[key].length, maxField)) return true;
  return false;
}
