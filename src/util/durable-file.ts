import { open, rename } from "node:fs/promises";
import { join } from "node:path";

/**
 * Writes `text` as dir/name so that after a crash or power cut the file is
 * either whole under its name or absent: written to a temporary name in
 * `tmpDir` (default dir, same file system), fsync'd, renamed, and the
 * directory fsync'd so the rename itself is on disk.
 */
export async function writeFileDurably(dir: string, name: string, text: string, opts: { tmpDir?: string; mode?: number } = {}): Promise<string> {
  const target = join(dir, name);
  const tmp = join(opts.tmpDir ?? dir, `.${name}.${process.pid}.tmp`);
  const fd = await open(tmp, "w", opts.mode ?? 0o600);
  try {
    await fd.writeFile(text);
    await fd.sync();
  } finally {
    await fd.close();
  }
  await rename(tmp, target);
  await syncDirectory(dir);
  return target;
}

/** fsync of a directory: makes the renames and unlinks done in it durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fd = await open(dir, "r");
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}
