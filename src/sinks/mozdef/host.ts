import { hostname } from "node:os";
import { lookup, lookupService } from "node:dns/promises";
import { basename } from "node:path";

let fqdn: string | undefined;

/**
 * The host's fully qualified name, as Python's socket.getfqdn() finds it
 * (forward then reverse lookup); the plain host name when DNS cannot say.
 */
export async function resolveFqdn(): Promise<string> {
  if (fqdn) return fqdn;
  const name = hostname();
  fqdn = name;
  if (!name.includes(".")) {
    try {
      const { address } = await lookup(name);
      const { hostname: reverse } = await lookupService(address, 0);
      if (reverse.startsWith(`${name}.`)) fqdn = reverse;
    } catch {
      // keep the short name
    }
  }
  return fqdn;
}

/** The name known so far (resolveFqdn() refines it). */
export function currentHostname(): string {
  return fqdn ?? hostname();
}

export function processName(): string {
  return basename(process.argv[1] ?? "node");
}
