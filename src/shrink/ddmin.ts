/**
 * Delta debugging (Zeller's ddmin, as fast-check shrinks): remove chunks of
 * a list, halving the chunk size when no chunk can go, keeping any removal
 * after which `fails` still holds. Returns the smallest list found; `stop`
 * ends it early (a work or time budget, a signal).
 */
export async function ddmin<T>(items: readonly T[], fails: (kept: boolean[]) => Promise<boolean>, stop: () => boolean): Promise<{ keep: boolean[]; removed: boolean }> {
  let keep = items.map(() => true);
  let removed = false;
  const live = (): number[] => keep.flatMap((k, i) => (k ? [i] : []));
  let chunk = Math.max(1, Math.floor(live().length / 2));
  while (chunk >= 1 && live().length && !stop()) {
    let progress = false;
    for (let at = 0; at < live().length && !stop(); ) {
      const idx = live();
      const cand = keep.slice();
      for (let j = at; j < Math.min(at + chunk, idx.length); j++) cand[idx[j]] = false;
      if (await fails(cand)) {
        keep = cand;
        progress = removed = true;
      } else at += chunk;
    }
    if (!progress) chunk = Math.floor(chunk / 2);
  }
  return { keep, removed };
}
