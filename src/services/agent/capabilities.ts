import type { Capabilities } from "../../scanners/detect.js";
import { profileId } from "../../scanners/scap-content.js";

export type { Capabilities };

/** What scan-detect finds, and the server's `scanner_info` made from it. */
export interface Detected {
  capabilities: Capabilities;
  scannerInfo: Record<string, unknown>;
  at: string;
}

export async function detectScanners(contentDirs: string[], warn: (m: string) => void): Promise<Detected> {
  const { detect } = await import("../../scanners/detect.js");
  const { scannerInfo } = await import("../../sinks/patchmon/payloads.js");
  // scanner_info carries profile ids, compliance_trigger titles: descriptions would mean parsing every data stream here
  const capabilities = await detect({ contentDirs, concurrency: 1, onWarning: warn, descriptions: false });
  return { capabilities, scannerInfo: scannerInfo(capabilities as unknown as Record<string, unknown>), at: new Date().toISOString() };
}

const DOCKER_NAMES = new Set(["docker-bench", "docker_bench", "docker-bench-security", "cis docker", "cis docker benchmark", "docker"]);

export type Resolved = { scanner: "docker-bench" } | { scanner: "openscap"; profile: string; datastream?: string } | { error: string };

/**
 * The spec's compliance_trigger names a profile by id (full or short) or
 * by title, or Docker Bench by name. Ids are looked up in what scan-detect
 * found (preferring content that matches this host); a well-formed id not
 * found there is still tried, and oscap says if it does not exist.
 */
export function resolveProfile(name: string, detected: Detected | null): Resolved {
  const wanted = name.trim();
  if (DOCKER_NAMES.has(wanted.toLowerCase())) return { scanner: "docker-bench" };
  const profiles = [...(detected?.capabilities.openscap.available_profiles ?? [])].sort((a, b) => Number(b.matches_host) - Number(a.matches_host));
  const byId = profiles.find((p) => p.id === wanted || p.id === profileId(wanted));
  if (byId) return { scanner: "openscap", profile: byId.id, datastream: byId.matches_host ? undefined : byId.file_path };
  const byTitle = profiles.find((p) => p.title.toLowerCase() === wanted.toLowerCase());
  if (byTitle) return { scanner: "openscap", profile: byTitle.id, datastream: byTitle.matches_host ? undefined : byTitle.file_path };
  if (PROFILE_ID.test(wanted) && wanted.length <= 256) return { scanner: "openscap", profile: profileId(wanted) };
  return { error: `unknown profile '${wanted.slice(0, 100)}': neither an id nor a title of a profile scan-detect found` };
}

/** What the server accepts as a profile_id (it refuses anything else, as injection). */
export const PROFILE_ID = /^[a-zA-Z0-9_.-]+$/;

export function validProfileId(id: unknown): id is string {
  return typeof id === "string" && id.length > 0 && id.length <= 256 && PROFILE_ID.test(id);
}
