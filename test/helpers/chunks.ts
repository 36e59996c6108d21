/** Yields `data` in slices of `size` bytes: cuts land inside tags, entities and UTF-8 characters. */
export async function* inSlices(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** Runs a generator to its end; returns what it yielded and what it threw. */
export async function drain<T>(source: AsyncIterable<T>): Promise<{ items: T[]; error?: Error & { code?: string; position?: unknown } }> {
  const items: T[] = [];
  try {
    for await (const item of source) items.push(item);
  } catch (error) {
    return { items, error: error as Error };
  }
  return { items };
}
