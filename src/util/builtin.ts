import { createRequire } from "node:module";

/**
 * Node's built-in modules loaded when first used, not when the importing
 * module loads: require(), which a bundle can hold, where an import() could
 * not run (see scripts/build-bundle.mjs). What a short run of xccdf2rules
 * never needs costs its start-up nothing: fs/promises, zlib and tty ~7 ms
 * (fastest of 40: 92-97 -> 83-91 ms), Node's stream modules ~7 ms more
 * (85.5 -> 78.1 ms).
 */
export const builtin = createRequire(import.meta.url) as <T = unknown>(id: string) => T;
