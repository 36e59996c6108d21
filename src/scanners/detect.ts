import { existsSync } from "node:fs";
import { findDatastreams, listProfiles, matchesHost, run, which } from "./scap-content.js";

export interface Capabilities {
  openscap: {
    installed: boolean;
    version: string | null;
    oscap_path: string | null;
    /** oscap-docker (scans images and containers through the engine). */
    oscap_docker_path: string | null;
    content_path: string | null;
    content_files: { file_path: string; matches_host: boolean }[];
    available_profiles: { id: string; title: string; description: string; file_path: string; matches_host: boolean }[];
  };
  docker_bench: { docker_installed: boolean; docker_running: boolean; docker_version: string | null; docker_bench_method: "container" | "script" | "none"; script_path: string | null };
}

const SCRIPT_PLACES = ["/opt/docker-bench-security/docker-bench-security.sh", "/usr/local/bin/docker-bench-security.sh"];

/**
 * What this host can scan with. Absent tools are reported as such, never as
 * errors. `descriptions: false` leaves profile descriptions empty (no data
 * stream is parsed in this process).
 */
export async function detect(opts: { contentDirs: string[]; concurrency: number; onWarning: (m: string) => void; descriptions?: boolean }): Promise<Capabilities> {
  const oscap = which("oscap");
  let version: string | null = null;
  const files = await findDatastreams(opts.contentDirs);
  let profiles: Capabilities["openscap"]["available_profiles"] = [];
  if (oscap) {
    const v = await run(oscap, ["--version"]);
    version = /\(oscap\)\s+(\S+)/.exec(v.stdout)?.[1] ?? null;
    profiles = await listProfiles(oscap, files, opts.concurrency, (file, why) => opts.onWarning(`${file}: skipped: ${why}`), opts.descriptions ?? true);
  }
  const contentPath = opts.contentDirs.find((d) => files.some((f) => f.startsWith(`${d}/`))) ?? null;

  const docker = which("docker");
  let dockerVersion: string | null = null;
  let running = false;
  if (docker) {
    const server = await run(docker, ["version", "--format", "{{.Server.Version}}"], 15_000);
    running = server.code === 0 && Boolean(server.stdout.trim());
    dockerVersion = running ? server.stdout.trim() : ((await run(docker, ["version", "--format", "{{.Client.Version}}"], 15_000)).stdout.trim() || null);
  }
  const script = which("docker-bench-security.sh") ?? SCRIPT_PLACES.find((p) => existsSync(p)) ?? null;
  return {
    openscap: {
      installed: Boolean(oscap),
      version,
      oscap_path: oscap,
      oscap_docker_path: which("oscap-docker"),
      content_path: contentPath,
      content_files: files.map((f) => ({ file_path: f, matches_host: matchesHost(f) })),
      available_profiles: profiles,
    },
    docker_bench: { docker_installed: Boolean(docker), docker_running: running, docker_version: dockerVersion, docker_bench_method: running ? "container" : script ? "script" : "none", script_path: script },
  };
}
