import { hostname } from "node:os";
import { lookup, lookupService } from "node:dns/promises";
import { basename } from "node:path";

/**
 * The host's fully qualified name, as Python's socket.getfqdn() finds it
 * (forward then reverse lookup); the plain host name when DNS cannot say.
 * Asked each time: whoever needs the name resolves it and passes it on.
 */
export async function resolveFqdn(): Promise<string> {
  const name = hostname();
  if (name.includes(".")) return name;
  try {
    const { address } = await lookup(name);
    const { hostname: reverse } = await lookupService(address, 0);
    if (reverse.startsWith(`${name}.`)) return reverse;
  } catch {
    // keep the short name
  }
  return name;
}

export function processName(): string {
  return basename(process.argv[1] ?? "node");
}
