import { Piscina } from 'piscina';
import type { RunConfig } from '../core/config.js';
import type { RunRecord } from '../core/outcome.js';

/** The worker's built module (also when this module runs from source, as under the tests). */
function workerUrl(): string {
  const built = import.meta.url.includes('/dist/');
  return new URL(built ? './worker.js' : '../../dist/src/sweep/worker.js', import.meta.url).href;
}

/**
 * Each worker's young generation. A seed allocates a great deal of short-lived
 * objects (ops, pages, trace records); with V8's default young generation
 * (16 MiB semi-spaces on 64-bit) a worker spends a fifth of its time in
 * scavenges, and on a 2-core machine those scavenges' parallel helper
 * threads compete with the other worker's thread. A larger nursery scavenges
 * far less often (the survivors per scavenge stay about the same), so each
 * worker runs faster and the workers get in each other's way less.
 */
export const YOUNG_GEN_MB = 192;

/**
 * Run seeds of a config in worker threads; results in seed order whatever
 * the order workers finish. When `interrupted()` turns true the seeds in
 * flight are abandoned at once (their threads are ended: a seed of millions
 * of ops does not hold a Ctrl-C up) and the seeds that finished are returned.
 */
export async function runSeeds(
  config: RunConfig,
  seeds: readonly number[],
  jobs: number,
  onDone?: (n: number) => void,
  interrupted?: () => boolean,
): Promise<{ results: RunRecord[]; stopped: boolean }> {
  const pool = new Piscina({
    filename: workerUrl(),
    minThreads: jobs,
    maxThreads: jobs,
    idleTimeout: 60_000,
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GEN_MB },
  });
  const results: RunRecord[] = [];
  const abort = new AbortController();
  let done = 0;
  let stopped = false;
  const watch = interrupted
    ? setInterval(() => {
        if (interrupted() && !stopped) {
          stopped = true;
          abort.abort();
        }
      }, 50)
    : undefined;
  const queue = [...seeds];
  const runOne = async (): Promise<void> => {
    while (!stopped) {
      const seed = queue.shift();
      if (seed === undefined) return;
      try {
        results.push((await pool.run({ config, seed }, { signal: abort.signal })) as RunRecord);
      } catch (e) {
        if (stopped) return; // abandoned by the interrupt
        throw e;
      }
      onDone?.(++done);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, runOne));
  } finally {
    if (watch) clearInterval(watch);
    await pool.destroy();
  }
  results.sort((x, y) => x.seed - y.seed);
  return { results, stopped };
}
