import { readFileSync } from "node:fs";

/** /etc/os-release as key → value. */
export function osRelease(path = "/etc/os-release"): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const line of readFileSync(path, "utf8").split("\n")) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) out[m[1]] = m[2].replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
    }
  } catch {
    // no os-release: unknown OS
  }
  return out;
}

/** PatchMon's os_info: family debian|rhel|suse (from ID and ID_LIKE), name, version. */
export function osInfo(release = osRelease()): { family: string; name: string; version: string } {
  const ids = [release.ID ?? "", ...(release.ID_LIKE ?? "").split(/\s+/)].map((s) => s.toLowerCase());
  const family = ids.some((i) => i === "debian" || i === "ubuntu") ? "debian" : ids.some((i) => ["rhel", "fedora", "centos"].includes(i)) ? "rhel" : ids.some((i) => i.includes("suse")) ? "suse" : (release.ID ?? "unknown");
  return { family, name: release.ID ?? "unknown", version: release.VERSION_ID ?? "" };
}

export function machineId(): string {
  for (const f of ["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
    try {
      const id = readFileSync(f, "utf8").trim();
      if (id) return id;
    } catch {
      // try the next
    }
  }
  return "";
}
