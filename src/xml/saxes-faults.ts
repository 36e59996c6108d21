/**
 * Everything that reads saxes's private state lives here, and only here:
 * saxes is pinned to an exact version (package.json) because of it. The rest
 * of src/xml uses saxes through its public API only.
 *
 * The reason for reading it: a fault must read the same, at the same place,
 * whether saxes or the quick path found it, wherever the chunks fell.
 */
import { createRequire } from "node:module";
import type { SaxesParser } from "saxes";
import { BARE_AMPERSAND, Char, escapeRegExp, excerpt } from "./syntax.js";

export type { SaxesParser, SaxesTagPlain } from "saxes";

let saxes: typeof import("saxes") | undefined;

export function newSaxesParser(): SaxesParser {
  // saxes is CommonJS: an ESM import of it runs Node's export lexer, a WebAssembly module that
  // costs ~13 MB of RSS and ~20 ms in every thread that loads this file. require() does not. Required
  // with the first parser: a report that begins as oscap writes one needs none (XmlScanner.startWithoutSaxes)
  saxes ??= createRequire(import.meta.url)("saxes") as typeof import("saxes");
  return new saxes.SaxesParser({ xmlns: false, position: true });
}

/** saxes 6.0.0's state in text and between markup. */
const SAXES_S_TEXT = 13;
/** saxes 6.0.0's state while it reads a reference (`&amp;`). */
const SAXES_S_ENTITY = 14;
/** saxes 6.0.0's states in an attribute value, and after it. */
const SAXES_S_ATTRIB_VALUE_QUOTED = 40;
const SAXES_S_ATTRIB_VALUE_CLOSED = 41;

/** What saxes's parser holds when it reports a fault (not in its types). */
interface SaxesInternals {
  /** The text of the current write, and the offset after the character read last. */
  chunk: string;
  i: number;
  state: number;
  entity: string;
  /** Text read and not yet handed on (it is, at the next '<'). */
  text: string;
  /** The element being read or last opened, the attribute name being read, and the attributes read. */
  tag?: { name: string };
  name: string;
  attribList: { name: string }[];
}

/** A reference as XML allows it to be written (what the quick path takes for one). */
const WHOLE_REFERENCE = /^&[^;&\s<]*;$/;

/** True if `reference` (`&name;`), read by itself, is the fault saxes reported (`raw`). */
function failsAlone(reference: string, raw: string): boolean {
  const body = reference.slice(1, -1);
  if (raw === "undefined entity.") return !body.startsWith("#") && !PREDEFINED.has(body);
  const code = /^#x[0-9a-fA-F]+$/.test(body) ? parseInt(body.slice(2), 16) : /^#[0-9]+$/.test(body) ? parseInt(body.slice(1), 10) : NaN;
  return !isXmlChar(code);
}

const PREDEFINED = new Set(["lt", "gt", "amp", "quot", "apos"]);

/** XML 1.0's Char production. */
const isXmlChar = (c: number) => c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);

const internals = (parser: SaxesParser) => parser as unknown as SaxesInternals;

/**
 * True when saxes has read up to the end of a tag, comment, PI or CDATA
 * section and holds no text: another reader may take the input from here.
 * (After a '>' in text, or inside a comment, it is not.)
 */
export function betweenMarkup(parser: SaxesParser): boolean {
  const { state, text } = internals(parser);
  return state === SAXES_S_TEXT && text === "";
}

/** A fault worded for the user, at `index` in `text` (saxes's current write). */
export interface PlacedFault {
  message: string;
  text: string;
  index: number;
}

/**
 * A write of `text` failed with `cause`: if saxes was reading a reference
 * that no ';' ends before a character a name cannot hold, the fault is the
 * bare '&' that began it (saxes read on from it to this point).
 */
export function bareAmpersandFault(parser: SaxesParser, text: string, cause: Error): PlacedFault | undefined {
  if (!cause.message.endsWith("disallowed character in entity name.")) return undefined;
  // the reference began at the first '&' after the previous ';'
  const { i } = internals(parser);
  const amp = text.indexOf("&", text.lastIndexOf(";", i - 2) + 1);
  return amp >= 0 && amp < i ? { message: BARE_AMPERSAND, text, index: amp } : undefined;
}

/**
 * After a write of `text` that ended at a '>' (which no reference holds):
 * saxes still reading a reference means a bare '&', from which it would read
 * on to the next ';' or the end of the input, holding all it reads, and then
 * fail far away. The fault is that '&'.
 */
export function referenceLeftOpen(parser: SaxesParser, text: string): PlacedFault | undefined {
  const { state, entity } = internals(parser);
  if (state !== SAXES_S_ENTITY) return undefined;
  let amp = text.length - entity.length - 1;
  while (amp > 0 && text.charCodeAt(amp) !== Char.Amp) amp--;
  return { message: BARE_AMPERSAND, text, index: amp };
}

/**
 * A saxes fault (`raw`: its message without position) in the words the
 * quick path has for it, and where the quick path points: a place in
 * saxes's current write. Undefined for the faults the two word alike.
 */
export function inQuickPathWords(parser: SaxesParser, raw: string): PlacedFault | undefined {
  const { chunk, i, tag, name, state, attribList } = internals(parser);
  // saxes's position is after the character it stopped at
  const placed = (message: string, back: number): PlacedFault => ({ message, text: chunk, index: i - back });
  const c = chunk[i - 1];
  const element = excerpt(tag?.name ?? "");
  switch (raw) {
    case "unexpected close tag.": {
      // saxes stops after the '>' and names neither tag
      const lt = chunk.lastIndexOf("</", i - 1);
      return lt >= 0 && tag ? placed(`unexpected close tag </${excerpt(chunk.slice(lt + 2, i - 1).trim())}> (open element is <${element}>)`, i - lt) : undefined;
    }
    case "undefined entity.":
    case "malformed character entity.": {
      // saxes stops after the ';' and does not name the reference
      const last = chunk.lastIndexOf("&", i - 1);
      if (last < 0) return undefined;
      const reference = chunk.slice(last, i);
      if (WHOLE_REFERENCE.test(reference) && failsAlone(reference, raw)) {
        return placed(raw === "undefined entity." ? `undefined entity ${excerpt(reference)} (DTD entities are not expanded)` : `invalid character reference ${excerpt(reference)}`, i - last);
      }
      // saxes read on from an earlier '&' that no ';' ended where XML would (before a blank or a tag),
      // through tags and lines: it is that '&', the first after the previous ';', that is bare
      const amp = chunk.indexOf("&", chunk.lastIndexOf(";", i - 2) + 1);
      return placed(BARE_AMPERSAND, i - amp);
    }
    case "inappropriately located doctype declaration.": {
      const lt = chunk.lastIndexOf("<!", i - 1);
      return lt >= 0 ? placed("unexpected markup declaration inside an element", i - lt) : undefined;
    }
    case "disallowed character in tag name": // just after the '<'
      return placed(`invalid start tag: a name cannot start with '${c}'`, 1);
    case "disallowed character in tag name.":
      return placed(`invalid start tag <${element}: unexpected '${c}'`, 1);
    case "no whitespace between attributes.":
    case "disallowed character in attribute name.":
      if (state === SAXES_S_ATTRIB_VALUE_CLOSED) return placed(`malformed start tag <${element}>: no space after attribute ${excerpt(attribList.at(-1)?.name ?? "")}`, 1);
      return placed(name ? `malformed start tag <${element}>: unexpected '${c}' after attribute name ${excerpt(name)}` : `malformed start tag <${element}>: an attribute name cannot start with '${c}'`, 1);
    case "unquoted attribute value.":
      return placed(`attribute ${excerpt(name)} of <${element}> is not quoted`, 1);
    case "disallowed character.":
      return state === SAXES_S_ATTRIB_VALUE_QUOTED && c === "<" ? placed(`'<' in the value of attribute ${excerpt(name)} of <${element}>`, 1) : undefined;
  }
  const duplicate = /^duplicate attribute: (.+)\.$/.exec(raw);
  if (duplicate && tag) {
    // found once the tag is read: point at the second one's name, as the quick path does
    const lt = chunk.lastIndexOf("<", i - 1);
    const attribute = new RegExp(`\\s${escapeRegExp(duplicate[1])}\\s*=`, "g");
    let at = -1;
    for (const m of chunk.slice(lt, i).matchAll(attribute)) at = lt + m.index + 1;
    if (lt >= 0 && at >= 0) return placed(`duplicate attribute ${excerpt(duplicate[1])} on <${element}>`, i - at);
  }
  return undefined;
}

/** saxes's own message, for the faults it words as the quick path does (or that only it finds). */
export function describeSaxMessage(message: string): string {
  // saxes quotes names only, but a name can be long
  message = excerptNames(message.replace(/\.$/, ""));
  if (/^undefined entity/.test(message)) return `${message} (DTD entities are not expanded)`;
  return message;
}

/** saxes's message with the name it ends with (`unclosed tag: NAME`) cut to an excerpt. */
function excerptNames(message: string): string {
  const colon = message.indexOf(": ");
  return colon < 0 ? message : message.slice(0, colon + 2) + excerpt(message.slice(colon + 2));
}
