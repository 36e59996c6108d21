import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Real data nobody here wrote: read in place, never copied into the repo. */
export const FIXTURES = process.env.COMPLIANCE_FIXTURES ?? resolve(ROOT, "../shared/fixtures");
export const SCHEMAS = process.env.COMPLIANCE_SCHEMAS ?? resolve(ROOT, "../shared/schemas");
export const BIN = resolve(ROOT, "bin");
