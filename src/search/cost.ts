import { KNOBS, type Knobs } from '../kernel/designs.js';

/**
 * What a design costs the people who run `chattr +x` / `chattr -x`: the
 * flag change refused (while mapped), deferred (to the last close, the
 * inode evicted), or not made at runtime at all, read off the knobs' cost
 * tables. No cost: the change takes effect at once and is never refused.
 */
export function userCost(k: Knobs): string[] {
  const out: string[] = [];
  for (const doc of KNOBS) {
    const c = doc.cost?.[String(k[doc.name])];
    if (c && !out.includes(c)) out.push(c);
  }
  return out.sort();
}

/**
 * `a` costs users less than `b`: every price of `a` is one of `b`'s, and
 * `b` has more. Prices of different kinds are not weighed against each
 * other: waiting for the last close (which evicts the inode and drops its
 * cache at every close) and no runtime change (nothing forced, but nothing
 * until the inode is loaded again) are different trade-offs, and so are a
 * refusal and a deferral. A single price never beats another.
 */
export function costsLess(a: readonly string[], b: readonly string[]): boolean {
  return a.length < b.length && a.every((c) => b.includes(c));
}

/** The items no other item costs less than (the minimal ones), in their order. */
export function minimalByCost<T>(items: readonly T[], cost: (t: T) => readonly string[]): T[] {
  return items.filter((t) => !items.some((u) => costsLess(cost(u), cost(t))));
}
