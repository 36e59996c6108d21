/**
 * Maps an async source with up to `window` calls of `fn` under way, yielding
 * results in source order. Reading stops while the window is full, so memory
 * stays bounded whatever the input size. If the source fails, the results
 * already under way are still yielded before the failure is rethrown.
 */
export async function* mapOrdered<T, R>(source: AsyncIterable<T>, fn: (item: T) => Promise<R>, window: number): AsyncGenerator<R> {
  const pending: Promise<R>[] = [];
  let failure: { error: unknown } | undefined;
  try {
    for await (const item of source) {
      const p = fn(item);
      p.catch(() => undefined); // observed when its turn comes
      pending.push(p);
      if (pending.length >= window) yield await pending.shift()!;
    }
  } catch (error) {
    failure = { error };
  }
  while (pending.length) yield await pending.shift()!;
  if (failure) throw failure.error;
}
