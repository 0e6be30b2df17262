import { parseRunArgv } from '../cli/main.js';
import { runGenerated } from '../replay/execute.js';
import type { RunArgs } from '../cli/fsxargs.js';
import type { GenArena } from '../fsx/gendata.js';

/** One seed's result, as a sweep records it (no wall-clock time: the records are the same on every machine). */
export interface SeedResult {
  seed: number;
  verdict: string;
  signature: string;
  exitCode: number;
  ops: number;
  steps: number;
  flips: number;
}

const cache = new Map<string, RunArgs>();

/** Run one seed of a sweep in memory with the sweep's run options. */
export function runSeed(argv: string[], seed: number, arena?: GenArena): SeedResult {
  const key = JSON.stringify(argv);
  let base = cache.get(key);
  if (!base) {
    base = parseRunArgv(argv, 'sweep');
    cache.set(key, base);
  }
  const ra: RunArgs = { ...base, fsx: { ...base.fsx, seed } };
  const e = runGenerated(ra, Infinity, arena);
  return {
    seed,
    verdict: e.verdict,
    signature: e.signature,
    exitCode: e.exitCode,
    ops: e.ops,
    steps: e.steps,
    flips: e.flips,
  };
}
