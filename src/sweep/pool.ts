import { Piscina } from 'piscina';
import type { RunConfig } from '../core/config.js';
import type { RunRecord } from '../core/outcome.js';

/** The worker's built module (also when this module runs from source, as under the tests). */
function workerUrl(): string {
  const built = import.meta.url.includes('/dist/');
  return new URL(built ? './worker.js' : '../../dist/src/sweep/worker.js', import.meta.url).href;
}

/** Run seeds of a config in worker threads; results in seed order whatever the order workers finish. */
export async function runSeeds(
  config: RunConfig,
  seeds: readonly number[],
  jobs: number,
  onDone?: (n: number) => void,
  interrupted?: () => boolean,
): Promise<{ results: RunRecord[]; stopped: boolean }> {
  const pool = new Piscina({ filename: workerUrl(), minThreads: jobs, maxThreads: jobs });
  const results: RunRecord[] = [];
  let done = 0;
  let stopped = false;
  const queue = [...seeds];
  const runOne = async (): Promise<void> => {
    for (;;) {
      if (interrupted?.()) {
        stopped = true;
        return;
      }
      const seed = queue.shift();
      if (seed === undefined) return;
      results.push((await pool.run({ config, seed })) as RunRecord);
      onDone?.(++done);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, runOne));
  } finally {
    await pool.destroy();
  }
  results.sort((x, y) => x.seed - y.seed);
  return { results, stopped };
}
