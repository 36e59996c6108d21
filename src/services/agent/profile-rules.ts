import { createReadStream } from "node:fs";

const TAG = /<(\/?)(?:[\w.-]+:)?(Rule|Profile|select)\b([^>]*)>/g;
const attr = (attrs: string, name: string): string | undefined => new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`).exec(attrs)?.[1];

interface ProfileSelects {
  extends?: string;
  selects: Map<string, boolean>;
}

/**
 * How many rules a profile of a data stream selects: the rules selected by
 * default, with the profile's (and the profiles it extends) `select`s
 * applied. It is the m of "rule n of m" while oscap evaluates; oscap
 * prints one line per selected rule. Groups are not followed (SSG selects
 * rules one by one), so it can be off for other content: the count is a
 * progress hint, raised when oscap reports more. Null when the profile is
 * not in the file. Reads the file as a stream of tags, never whole.
 */
export async function selectedRuleCount(datastream: string, profileId: string): Promise<number | null> {
  const defaults = new Map<string, boolean>();
  const profiles = new Map<string, ProfileSelects>();
  let current: ProfileSelects | null = null;
  let carry = "";
  for await (const chunk of createReadStream(datastream, { encoding: "utf8", highWaterMark: 256 * 1024 })) {
    const text = carry + (chunk as string);
    const cut = text.lastIndexOf("<");
    const body = cut > text.length - 4096 ? text.slice(0, cut) : text;
    carry = text.slice(body.length);
    TAG.lastIndex = 0;
    for (let m = TAG.exec(body); m; m = TAG.exec(body)) {
      const [, close, name, attrs] = m;
      if (name === "Profile") {
        if (close) current = null;
        else {
          const id = attr(attrs, "id");
          current = { extends: attr(attrs, "extends"), selects: new Map() };
          if (id) profiles.set(id, current);
          if (attrs.trimEnd().endsWith("/")) current = null;
        }
      } else if (name === "select" && !close && current) {
        const idref = attr(attrs, "idref");
        if (idref) current.selects.set(idref, attr(attrs, "selected") === "true");
      } else if (name === "Rule" && !close) {
        const id = attr(attrs, "id");
        if (id) defaults.set(id, attr(attrs, "selected") !== "false");
      }
    }
  }
  if (!profiles.has(profileId)) return null;
  const chain: ProfileSelects[] = [];
  for (let id: string | undefined = profileId; id && profiles.has(id) && chain.length < 20; id = profiles.get(id)!.extends) chain.unshift(profiles.get(id)!);
  const selected = new Map(defaults);
  for (const p of chain) for (const [idref, on] of p.selects) if (defaults.has(idref)) selected.set(idref, on);
  let n = 0;
  for (const on of selected.values()) if (on) n++;
  return n;
}
