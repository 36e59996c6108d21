/**
 * A glob for rule ids and host names (not paths): `*` is any run of
 * characters, `?` one character, everything else is itself.
 */
export function globToRegExp(glob: string, opts: { ignoreCase?: boolean } = {}): RegExp {
  const body = [...glob].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.+()[\]{}|/-]/g, "\\$&"))).join("");
  return new RegExp(`^${body}$`, opts.ignoreCase ? "is" : "s");
}
