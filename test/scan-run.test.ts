import { describe, expect, it } from "vitest";
import { ResultWords } from "../src/scanners/run.js";

describe("scan-run's count of oscap's result lines", () => {
  it("reads both of oscap's per-rule forms: the text lines and --progress's rule:word", () => {
    const words = new ResultWords();
    const text = ["--- Starting Evaluation ---", "", "Title\r\tEnsure a: b", "Rule\r\txccdf_org.ssgproject.content_rule_a", "Result\r\tnotapplicable", ""];
    const progress = ["xccdf_org.ssgproject.content_rule_b:notapplicable", "xccdf_org.ssgproject.content_rule_c:pass"];
    for (const line of [...text, ...progress]) words.see(line);
    expect({ total: words.total, notapplicable: words.notapplicable }).toEqual({ total: 3, notapplicable: 2 });
  });
});
