import type { CriteriaNode, OvalElement, OvalField, OvalFindings, OvalTest } from "./evidence-oval.js";

/** Which rule-results get evidence: none (today's output), failed and error ones (the default), or all. */
export type EvidenceMode = "none" | "fail" | "all";
export const EVIDENCE_MODES: readonly EvidenceMode[] = ["none", "fail", "all"];
export const DEFAULT_EVIDENCE_ITEMS = 10;

/** Deciding tests listed per rule at most. */
const MAX_TESTS = 20;
/** Longest `actual`/`expected` kept in the short values. */
const MAX_SHORT = 200;

export interface EvidenceJson {
  definition_id: string;
  result: string;
  criteria?: string;
  tests: TestJson[];
  tests_total?: number;
}

interface TestJson {
  id: string;
  comment?: string;
  result: string;
  check?: string;
  check_existence?: string;
  object?: { id: string; type?: string; flag?: string; fields?: Record<string, unknown> };
  /** The test's states, then the states its object's filters name (with the filter's action). */
  states?: { id: string; type?: string; fields?: Record<string, unknown>; filter?: string }[];
  items?: Record<string, unknown>[];
  items_total?: number;
}

/** What the evidence says in words, for a rule-result without a message. */
export interface EvidenceSummary {
  finding?: string;
  actual?: string;
  expected?: string;
}

export function needsEvidence(mode: EvidenceMode, result: string | undefined): boolean {
  return mode === "all" || (mode === "fail" && (result === "fail" || result === "error"));
}

/** The evidence for one definition from a report's findings; undefined if the report does not have it. */
export function buildEvidence(definitionId: string, found: OvalFindings): { evidence: EvidenceJson; summary: EvidenceSummary } | undefined {
  const result = found.definitionResults.get(definitionId);
  if (result === undefined) return undefined;
  const root = found.definitions.get(definitionId);
  const deciding: Deciding[] = [];
  const seen = new Set<string>();
  const criteria = root ? describe(root, found, deciding, seen) : undefined;
  const tests = deciding.slice(0, MAX_TESTS).map(({ id }) => testJson(id, found));
  const evidence: EvidenceJson = { definition_id: definitionId, result, criteria, tests };
  if (!criteria) delete evidence.criteria;
  if (deciding.length > MAX_TESTS) evidence.tests_total = deciding.length;
  return { evidence, summary: summarise(deciding, found) };
}

/** A test that decided a result, and whether its criterion negated it. */
interface Deciding {
  id: string;
  negate: boolean;
}

/**
 * The criteria tree in one line; collects, in tree order, the tests that
 * decided its result: the children whose result is their parent's (before
 * the parent's own negation), following extended definitions.
 */
function describe(node: CriteriaNode, found: OvalFindings, deciding: Deciding[], seen: Set<string>): string {
  // a node's result is after its negation; shown is the result it negates
  const not = node.negate ? "NOT " : "";
  const own = node.negate ? negated(node.result) : node.result;
  if (node.kind === "test") {
    if (!deciding.some((d) => d.id === node.ref)) deciding.push({ id: node.ref, negate: node.negate });
    return `${not}test:${node.ref}=${own}`;
  }
  if (node.kind === "definition") {
    const extended = seen.has(node.ref) ? undefined : found.definitions.get(node.ref);
    seen.add(node.ref);
    const inner = extended ? `[${describe(extended, found, deciding, seen)}]` : "";
    return `${not}definition:${node.ref}=${own}${inner}`;
  }
  const parts = node.children.map((child) => {
    const decides = child.result === own || !["true", "false"].includes(own);
    return decides ? describe(child, found, deciding, seen) : describe(child, found, [], seen);
  });
  return `${not}${node.ref}(${parts.join(", ")})`;
}

function negated(result: string): string {
  return result === "true" ? "false" : result === "false" ? "true" : result;
}

function testJson(id: string, found: OvalFindings): TestJson {
  const test = found.tests.get(id);
  if (!test) return { id, result: "unknown" };
  const out: TestJson = { id, comment: test.comment, result: test.result ?? "unknown" };
  if (!test.comment) delete out.comment;
  if (test.check) out.check = test.check;
  if (test.checkExistence) out.check_existence = test.checkExistence;
  const object = test.objectRef ? found.objects.get(test.objectRef) : undefined;
  if (test.objectRef) {
    out.object = { id: test.objectRef };
    if (object) {
      out.object.type = object.type;
      if (object.flag) out.object.flag = object.flag;
      out.object.fields = resolveVariables(object.fields, object.variables, test.variables);
    }
  }
  const states = [...test.stateRefs.map((ref) => ({ ref, filter: undefined as string | undefined })), ...filtersOf(object)];
  if (states.length) {
    out.states = states.map(({ ref, filter }) => {
      const state = found.states.get(ref);
      const json: NonNullable<TestJson["states"]>[number] = state ? { id: ref, type: state.type, fields: resolveVariables(state.fields, undefined, test.variables) } : { id: ref };
      if (filter) json.filter = filter;
      return json;
    });
  }
  out.items = test.items.map(({ id: itemId, result }) => {
    const item = found.items.get(itemId);
    const json: Record<string, unknown> = { id: itemId, result };
    if (item) {
      json.type = item.type;
      if (item.status) json.status = item.status;
      json.fields = item.fields;
    }
    return json;
  });
  out.items_total = test.itemsTotal;
  return out;
}

/** The states an object's filters name, with the filter's action (include or exclude). */
function filtersOf(object: OvalElement | undefined): { ref: string; filter: string }[] {
  const filters = object?.fields.filter;
  if (filters === undefined) return [];
  return (Array.isArray(filters) ? filters : [filters]).map((f) => ({ ref: valueOf(f), filter: (typeof f === "string" ? undefined : f.action) ?? "exclude" }));
}

/** Fields whose value comes from a variable (`var_ref`) get the values collected for it. */
function resolveVariables(fields: OvalElement["fields"], ...sources: (Map<string, string[]> | undefined)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    out[name] = Array.isArray(value) ? value.map((v) => resolveOne(v, sources)) : resolveOne(value, sources);
  }
  return out;
}

function resolveOne(field: OvalField, sources: (Map<string, string[]> | undefined)[]): OvalField {
  if (typeof field === "string" || !field.var_ref) return field;
  for (const source of sources) {
    const values = source?.get(field.var_ref);
    if (values?.length) return { ...field, value: values.join("\n") };
  }
  return field;
}

// --- one sentence

function summarise(deciding: Deciding[], found: OvalFindings): EvidenceSummary {
  for (const { id, negate } of deciding) {
    const test = found.tests.get(id);
    if (!test) continue;
    if (negate && test.result === "true" && test.checkExistence === "none_exist" && test.itemsTotal === 0) {
      const object = test.objectRef ? found.objects.get(test.objectRef) : undefined;
      const words = object && Object.keys(object.fields).length ? objectWords(object, test.variables).text : (test.comment ?? id);
      return { finding: `no item matched: ${words}`, actual: "does not exist", expected: "exists" };
    }
    if (negate && test.result === "true") {
      return { finding: `${test.comment ?? id}: true, expected false (the check negates it)`, actual: "true", expected: "false" };
    }
    if (negate || test.result === "true") continue;
    const said = sayTest(test, found);
    if (said) return said;
  }
  return {};
}

function sayTest(test: OvalTest, found: OvalFindings): EvidenceSummary | undefined {
  const object = test.objectRef ? found.objects.get(test.objectRef) : undefined;
  const words = object ? objectWords(object, test.variables) : { text: test.comment ?? test.objectRef ?? "object", literal: false };
  const what = words.text;
  if (test.itemsTotal === 0) {
    if (test.checkExistence === "none_exist") return undefined;
    return { finding: `no item matched: ${what}${words.literal ? " does not exist" : ""}`, actual: "does not exist", expected: "exists" };
  }
  const failed = test.items.find((item) => item.result !== "true") ?? test.items[0];
  const item = failed ? found.items.get(failed.id) : undefined;
  if (test.checkExistence === "none_exist") {
    // an item left by an object's exclude filters is one that does not meet them
    const excluded = filtersOf(object).filter((f) => f.filter === "exclude").map((f) => found.states.get(f.ref));
    const said = item && mismatches(what, excluded, item, test.variables).sort((a, b) => Number(a.field === "type") - Number(b.field === "type"))[0];
    if (said) return said.summary;
    return { finding: `${what}: ${test.itemsTotal} item(s) exist, expected none`, actual: `${test.itemsTotal} item(s)`, expected: "none" };
  }
  const said = item && mismatches(what, test.stateRefs.map((ref) => found.states.get(ref)), item, test.variables)[0];
  if (said) return said.summary;
  if (test.comment) return { finding: `${what}: ${test.itemsTotal} item(s) checked, ${test.comment}: ${test.result ?? "false"}` };
  return undefined;
}

/** The state fields an item does not meet, each said in a sentence. */
function mismatches(what: string, states: (OvalElement | undefined)[], item: OvalElement, variables: Map<string, string[]>): { field: string; summary: EvidenceSummary }[] {
  const out: { field: string; summary: EvidenceSummary }[] = [];
  for (const state of states) {
    for (const [name, expectedField] of Object.entries(state?.fields ?? {})) {
      const expected = resolveOne(first(expectedField), [variables]);
      const actual = item.fields[name];
      const actualText = actual === undefined ? undefined : valueOf(first(actual));
      const expectedText = valueOf(expected);
      const operation = typeof expected === "string" ? undefined : expected.operation;
      if (actualText !== undefined && satisfied(actualText, expectedText, operation)) continue;
      const how = operation && operation !== "equals" ? `${operation} ` : "";
      const is = actualText === undefined ? "is missing" : `is ${JSON.stringify(actualText)}`;
      out.push({ field: name, summary: { finding: `${what}: ${name} ${is}, expected ${how}${JSON.stringify(expectedText)}`, actual: short(actualText ?? ""), expected: short(expectedText) } });
    }
  }
  return out;
}

/** A quick look at whether an item's value met the state, to point at the field that did not. */
function satisfied(actual: string, expected: string, operation: string | undefined): boolean {
  switch (operation ?? "equals") {
    case "equals":
      return actual === expected;
    case "not equal":
      return actual !== expected;
    case "case insensitive equals":
      return actual.toLowerCase() === expected.toLowerCase();
    case "pattern match":
      try {
        return new RegExp(expected).test(actual);
      } catch {
        return false;
      }
  }
  return false;
}

/** The object in words: its file (or name) and the lines it looks for; patterns said as such. */
function objectWords(object: OvalElement, variables: Map<string, string[]>): { text: string; literal: boolean } {
  const pick = (name: string): { value: string; pattern: boolean } | undefined => {
    const raw = object.fields[name];
    if (raw === undefined) return undefined;
    const field = resolveOne(first(raw), [object.variables, variables]);
    return { value: valueOf(field), pattern: typeof field !== "string" && field.operation === "pattern match" };
  };
  const quoted = (v: string) => JSON.stringify(v);
  const [filepath, path, filename, name, pattern] = ["filepath", "path", "filename", "name", "pattern"].map(pick);
  let file: string | undefined;
  let literal = pattern === undefined;
  if (filepath) {
    file = filepath.pattern ? `files matching ${quoted(filepath.value)}` : filepath.value;
    literal &&= !filepath.pattern;
  } else if (path && filename) {
    if (!path.pattern && !filename.pattern) file = `${path.value.replace(/\/$/, "")}/${filename.value}`;
    else {
      literal = false;
      const names = filename.pattern ? `files matching ${quoted(filename.value)}` : `files named ${quoted(filename.value)}`;
      file = `${names} in ${path.pattern ? `directories matching ${quoted(path.value)}` : path.value}`;
    }
  } else if (path) {
    file = path.pattern ? `directories matching ${quoted(path.value)}` : path.value;
    literal &&= !path.pattern;
  }
  const kind = /^(dpkg|rpm)info_object$/.test(object.type) ? "package" : object.type.replace(/_object$/, "");
  const named = name && (name.pattern ? `${kind} matching ${quoted(name.value)}` : `${kind} ${name.value}`);
  if (name?.pattern) literal = false;
  const lines = pattern && `lines matching ${quoted(pattern.value)} in`;
  const parts = [lines, file, named].filter((p): p is string => p !== undefined && p !== "");
  return { text: parts.length ? parts.join(" ") : object.type, literal };
}

function first(field: OvalField | OvalField[]): OvalField {
  return Array.isArray(field) ? field[0] : field;
}

function valueOf(field: OvalField): string {
  return typeof field === "string" ? field : field.value;
}

function short(text: string): string {
  return text.length > MAX_SHORT ? `${text.slice(0, MAX_SHORT)}…` : text;
}
