/**
 * A job's action.json made ready for the API, as the Go runner's
 * launchAction does: renamed `mig-runner: <job>`, valid from a minute ago,
 * expiring after `expiry` plus that minute, operations compressed where
 * they ask for it, signed over MIG's "stringified" form.
 */
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { PipeError } from "../../errors.js";
import { ACTION, OPERATION, decodeGo, encodeAny, encodeGo, goTimeOf, GoDecodeError, type Action, type Operation } from "./go-struct.js";
import type { Signer } from "./pgp.js";

/** Go's syntax version the API wants (mig.ActionVersion). */
export const ACTION_VERSION = 2;
/** The Go runner starts actions a minute in the past so that they start at once. */
export const VALIDITY_WINDOW_MS = 60_000;

/** Reads action.json as Go's json.Unmarshal into a mig.Action would (a type error names the field). */
export function parseAction(text: string, source: string): Action {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PipeError("E_BAD_INPUT", `not JSON: ${(err as Error).message}`, { position: { source } });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new PipeError("E_BAD_INPUT", "not a MIG action (a JSON object)", { position: { source } });
  try {
    return decodeGo(value, ACTION) as Action;
  } catch (err) {
    if (err instanceof GoDecodeError) throw new PipeError("E_BAD_INPUT", err.message, { position: { source } });
    throw err;
  }
}

export async function readAction(file: string): Promise<Action> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new PipeError("E_IO", `cannot read: ${(err as Error).message}`, { position: { source: file } });
  }
  return parseAction(text, file);
}

/** What the API's Validate() would refuse in an action file, whatever the runner sets. */
export function actionProblems(action: Action): string[] {
  const problems: string[] = [];
  if (!action.target) problems.push("no target");
  if (!action.operations || action.operations.length === 0) problems.push("no operations");
  action.operations?.forEach((op, i) => {
    if (!op.module) problems.push(`operation ${i + 1}: no module`);
  });
  return problems;
}

/** base64(gzip(json(parameters))), as Operation.CompressOperationParam. */
export function compressOperation(op: Operation): Operation {
  if (!op.want_compressed || op.is_compressed) return op;
  const gz = gzipSync(Buffer.from(encodeAny(op.parameters)));
  gz[9] = 255; // OS "unknown", as Go's gzip writer sets it
  return { ...op, parameters: gz.toString("base64"), is_compressed: true };
}

const unixSeconds = (goTime: string) => Math.floor(Date.parse(goTime) / 1000);

/**
 * The text MIG signs (Action.String()): name, target, validfrom and
 * expireafter in Unix seconds (the latter in Go's `%!s(int64=…)` form) and
 * the operations as Go marshals them.
 */
export function signedText(action: Action): string {
  const operations = encodeGo(action.operations, { slice: OPERATION });
  return `name=${action.name};target=${action.target};validfrom=${unixSeconds(action.validfrom)};expireafter=%!s(int64=${unixSeconds(action.expireafter)});operations=${operations};`;
}

/** Renames, dates, compresses and signs the action read from a job's action.json. */
export async function prepareLaunch(action: Action, o: { job: string; now: number; expiryMs: number; signer: Signer }): Promise<Action> {
  const validFrom = o.now - VALIDITY_WINDOW_MS;
  const ready: Action = {
    ...action,
    name: `mig-runner: ${o.job}`,
    validfrom: goTimeOf(new Date(validFrom)),
    expireafter: goTimeOf(new Date(validFrom + o.expiryMs + VALIDITY_WINDOW_MS)),
    operations: action.operations?.map(compressOperation) ?? null,
  };
  const signature = await o.signer.sign(signedText(ready));
  return { ...ready, pgpsignatures: [...(ready.pgpsignatures ?? []), signature], syntaxversion: ACTION_VERSION };
}

/** The action as Go's json.Marshal writes it. */
export function actionJson(action: Action): string {
  return encodeGo(action, ACTION);
}

/** Go's url.QueryEscape: everything but letters, digits and `-_.~` escaped, space as `+`. */
export function goQueryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}
