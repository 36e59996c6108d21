import type { Ident } from "../../types.js";
import { Char, INCOMPLETE, findEndTag, parsePlainStartTag } from "../../xml/syntax.js";
import { collapse } from "./fields.js";

/** What a rule-result says about its rule, gathered until its end tag. */
export interface RuleResultBuilder {
  idref: string;
  severity?: string;
  result?: string;
  idents: Ident[];
  messages: string[];
  fix?: string;
  /** The OVAL check it points to (read only when evidence is wanted). */
  check?: { href: string; name: string };
}

/** The rule-result children read from text; `check` is skipped (it says how, not what). */
const enum Child {
  Result,
  Ident,
  Message,
  Fix,
  Check,
  Other,
}

/**
 * Reads the content of a rule-result named `name` from `buf[from...]` (just
 * after its start tag) into `rr`, when it is the shape oscap (or DISA SCC)
 * writes: result, ident, message, fix and check children, all but check
 * holding plain text (no markup, references or CRs), all in `buf`. Returns where the
 * rule-result's end tag ends, or -1 for anything else, which the caller
 * then reads element by element (and where it reports any fault). Text
 * between children is ignored unread, as the element-by-element reading ignores it.
 */
export function readPlainRuleResult(buf: string, from: number, name: string, rr: RuleResultBuilder, wantCheck = false): number {
  let pos = from;
  for (;;) {
    const lt = buf.indexOf("<", pos);
    if (lt < 0) return -1;
    if (buf.charCodeAt(lt + 1) === Char.Slash) {
      const end = lt + 2 + name.length;
      return buf.startsWith(name, lt + 2) && buf.charCodeAt(end) === Char.Gt ? end + 1 : -1;
    }
    const tag = parsePlainStartTag(buf, lt);
    if (!tag) return -1;
    // children are known by their local name alone, as the element-by-element reading knows them
    const child = childOf(tag.name.slice(tag.name.indexOf(":") + 1));
    if (child === Child.Check) {
      if (tag.selfClosing) pos = tag.end;
      else {
        const [at, end] = findEndTag(buf, `</${tag.name}`, tag.end);
        if (at === INCOMPLETE) return -1;
        if (wantCheck && !rr.check) rr.check = checkContentRef(buf, tag.end, at);
        pos = end;
      }
      continue;
    }
    if (child === Child.Other) return -1;
    let text = "";
    if (tag.selfClosing) pos = tag.end;
    else {
      const plain = plainText(buf, tag.end, tag.name);
      if (!plain) return -1;
      [text, pos] = plain;
    }
    const value = text.trim();
    if (child === Child.Result) rr.result = value;
    else if (!value) continue;
    else if (child === Child.Ident) rr.idents.push({ system: tag.attributes.system ?? "", value });
    else if (child === Child.Message) rr.messages.push(collapse(text));
    else if (rr.fix === undefined) rr.fix = value;
  }
}

/**
 * The content of element `name` from `buf[from...]` (just after its start
 * tag) when it is plain text (no markup, reference or CR) followed by its own
 * end tag: the text, and where the end tag ends; undefined for anything else.
 */
export function plainText(buf: string, from: number, name: string): [text: string, end: number] | undefined {
  const lt = buf.indexOf("<", from);
  const gt = lt + 2 + name.length;
  if (lt < 0 || buf.charCodeAt(lt + 1) !== Char.Slash || !buf.startsWith(name, lt + 2) || buf.charCodeAt(gt) !== Char.Gt) return undefined;
  const text = buf.slice(from, lt);
  return text.includes("&") || text.includes("\r") ? undefined : [text, gt + 1];
}

function childOf(local: string): Child {
  switch (local) {
    case "result":
      return Child.Result;
    case "ident":
      return Child.Ident;
    case "message":
      return Child.Message;
    case "fix":
      return Child.Fix;
    case "check":
      return Child.Check;
  }
  return Child.Other;
}

/** The first check-content-ref with a name between `from` and `to`. */
function checkContentRef(buf: string, from: number, to: number): { href: string; name: string } | undefined {
  for (let at = buf.indexOf("check-content-ref", from); at >= 0 && at < to; at = buf.indexOf("check-content-ref", at + 1)) {
    const lt = buf.lastIndexOf("<", at);
    if (lt < from) continue;
    const tag = parsePlainStartTag(buf, lt);
    if (tag && tag.name.slice(tag.name.indexOf(":") + 1) === "check-content-ref" && tag.attributes.name) return { href: tag.attributes.href ?? "", name: tag.attributes.name };
  }
  return undefined;
}
