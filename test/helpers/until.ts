/** Waits for a condition (a count a server has reached, a file's contents), checking every few ms; never a fixed sleep. */
export async function until(cond: () => boolean, what = "a condition", limitMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
