import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readProfileDescriptions } from "../src/scanners/profile-descriptions.js";

describe("profile descriptions from the content itself", () => {
  it("takes each Profile's first description as plain text, and nothing from Groups, Rules or other components", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "cp-prof-")), "ds.xml");
    writeFileSync(
      file,
      `<?xml version="1.0"?>
<ds:data-stream-collection xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2" xmlns:x="http://checklists.nist.gov/xccdf/1.2" xmlns:h="http://www.w3.org/1999/xhtml">
  <ds:component id="c1"><other><x:Profile id="not-a-benchmark-profile"><x:description>no</x:description></x:Profile></other></ds:component>
  <ds:component id="c2"><x:Benchmark id="b">
    <x:description>The benchmark's own</x:description>
    <x:Profile id="p1"><x:title>One</x:title><x:description xml:lang="en">First
        line, <h:code>code</h:code> &amp; more</x:description><x:description xml:lang="fr">Deuxième</x:description><x:select idref="r" selected="true"/></x:Profile>
    <x:Profile id="p2"><x:title>Two</x:title></x:Profile>
    <x:Group id="g"><x:Profile id="p3"><x:description>not read</x:description></x:Profile></x:Group>
  </x:Benchmark></ds:component>
</ds:data-stream-collection>`,
    );
    expect(Object.fromEntries(await readProfileDescriptions(file))).toEqual({ p1: "First line, code & more" });
  });
});
