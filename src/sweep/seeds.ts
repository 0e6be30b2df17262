import { UsageError } from '../util/errors.js';

/** A..B, or a single seed. */
export function parseSeeds(s: string): [number, number] {
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(s.trim());
  if (!m) throw new UsageError(`option --seeds: expected A..B (e.g. 1..100), got '${s}'`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 1 || b < a || b > 2147483647) throw new UsageError(`option --seeds: need 1 <= A <= B <= 2147483647, got '${s}'`);
  return [a, b];
}

/** --shard K/N (K from 1), or index/N to take K from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (from 0). */
export function parseShard(s: string, env: NodeJS.ProcessEnv): [number, number] {
  const m = /^(\d+|index)\/(\d+)$/.exec(s.trim());
  if (!m) throw new UsageError(`option --shard: expected K/N (e.g. 2/8) or index/N, got '${s}'`);
  const n = Number(m[2]);
  let k: number;
  if (m[1] === 'index') {
    const idx = env.JOB_COMPLETION_INDEX;
    if (idx === undefined || !/^\d+$/.test(idx)) throw new UsageError('option --shard index/N: JOB_COMPLETION_INDEX is not set to a number');
    k = Number(idx) + 1;
  } else k = Number(m[1]);
  if (n < 1 || k < 1 || k > n) throw new UsageError(`option --shard: need 1 <= K <= N, got '${s}'`);
  return [k, n];
}

/** The seeds of shard K of N: every N-th seed of the range, so slices take about as long. */
export function shardSeeds([a, b]: [number, number], [k, n]: [number, number]): number[] {
  const out: number[] = [];
  for (let s = a; s <= b; s++) if ((s - a) % n === k - 1) out.push(s);
  return out;
}
