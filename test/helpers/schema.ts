import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { SCHEMAS } from "./paths.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);

export function validator(schemaFile: string) {
  const validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, schemaFile), "utf8")));
  return (record: unknown): string | null => (validate(record) ? null : ajv.errorsText(validate.errors));
}
