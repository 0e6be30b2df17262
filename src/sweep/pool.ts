import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';
import type { RunConfig } from '../core/config.js';
import type { RunRecord } from '../core/outcome.js';
import type { Job, JobResult } from './jobs.js';

/** The worker's built module (also when this module runs from source, as under the tests). */
function workerPath(): string {
  const built = import.meta.url.includes('/dist/');
  return fileURLToPath(new URL(built ? './worker.js' : '../../dist/src/sweep/worker.js', import.meta.url));
}

/**
 * V8 flags for each worker.
 *
 * - Baseline (Sparkplug) code for every function from its first call,
 *   instead of the interpreter until it is warm. What a second worker costs
 *   beyond its share is partly its own warm-up: each worker compiles the
 *   model afresh (~170 functions optimised in its first seed, a second of
 *   compiler time), and on two cores its compiler threads take time from the
 *   other worker, where a lone worker has a free core for them. With this
 *   flag a worker's first ten seeds take 6% less CPU; measured side by side,
 *   60 seeds x 40000 ops with 2 workers ran 6% faster and with 1 worker the
 *   same.
 * - A young generation of 2 MiB semi-spaces (V8's default grows to 16 MiB).
 *   A seed allocates ~9 KB per op, nearly all of it dead by the next
 *   scavenge; with the default each worker cycles 32 MiB of nursery through
 *   the cache, and two workers share one 32 MiB L3 (this project's machines),
 *   so each slowed the other. With 2 MiB two nurseries take 8 MiB of it, and
 *   the survivors are as few: measured side by side, 60 seeds x 40000
 *   ops with 2 workers ran 8% faster (medians of 3 and 4 alternations), with
 *   1 worker the same. (Larger semi-spaces, 8-64 MiB, measured the same as
 *   the default.)
 */
const WORKER_V8_FLAGS: readonly string[] = ['--always-sparkplug', '--max-semi-space-size=2'];

/**
 * And when there is a worker on every core: the garbage collector's work in
 * the worker's own thread. A lone worker's scavenges run in parallel on the
 * idle core (1 worker with this flag measured 9% slower); with every core
 * running a worker, those helper threads only take time from another worker:
 * 60 seeds x 40000 ops with 2 workers on 2 cores ran 5% and 10% faster with
 * it in two side-by-side runs.
 */
const FULL_MACHINE_V8_FLAGS: readonly string[] = ['--single-threaded-gc'];

/**
 * Run jobs (seeds, explorations) in worker processes; results in job order
 * whatever the order workers finish. Processes, not threads: two worker
 * threads of one process ran 4-11% slower than two processes on the same
 * seeds on this project's 2-core machines (measured side by side), and a sweep is long enough that a process's
 * start-up (a tenth of a second) does not count. When `interrupted()` turns
 * true the jobs in flight are abandoned at once (their processes are
 * killed: a seed of millions of ops does not hold a Ctrl-C up) and the
 * results of the jobs that finished are returned (the others are left
 * undefined).
 */
export async function runJobs<J extends Job>(
  jobs: readonly J[],
  workers: number,
  onDone?: (n: number) => void,
  interrupted?: () => boolean,
): Promise<{ results: (JobResult<J> | undefined)[]; stopped: boolean }> {
  const n = Math.max(1, Math.min(workers, jobs.length));
  const pool = workerpool.pool(workerPath(), {
    workerType: 'process',
    minWorkers: n,
    maxWorkers: n,
    // a worker has nothing to clean up: on an interrupt, kill its process after a tenth of a second, not a second
    workerTerminateTimeout: 100,
    // structured clone, as between threads: a job's and a result's typed arrays and undefined fields survive
    forkOpts: { serialization: 'advanced', execArgv: [...WORKER_V8_FLAGS, ...(n >= availableParallelism() ? FULL_MACHINE_V8_FLAGS : [])] },
  });
  // if this process exits while workers run (a second SIGINT exits at once), their processes go with it: a worker
  // busy in a long seed would not notice its parent had gone until the seed ended (workerpool keeps its handlers in
  // `workers`, each with its child process)
  const killWorkers = (): void => {
    for (const h of (pool as unknown as { workers: { worker?: { kill(signal: string): boolean } }[] }).workers) h.worker?.kill('SIGKILL');
  };
  process.on('exit', killWorkers);
  const results: (JobResult<J> | undefined)[] = new Array<JobResult<J> | undefined>(jobs.length).fill(undefined);
  let done = 0;
  let stopped = false;
  const stop = (): boolean => {
    if (!stopped && interrupted?.()) {
      stopped = true;
      void pool.terminate(true);
    }
    return stopped;
  };
  const watch = interrupted ? setInterval(stop, 50) : undefined;
  let next = 0;
  const runOne = async (): Promise<void> => {
    while (!stop() && next < jobs.length) {
      const i = next++;
      try {
        results[i] = (await pool.exec('run', [jobs[i]])) as JobResult<J>;
      } catch (e) {
        // abandoned by the interrupt (a Ctrl-C reaches the workers too, and may end them first)
        if (stop()) return;
        throw e;
      }
      onDone?.(++done);
    }
  };
  try {
    await Promise.all(Array.from({ length: n }, runOne));
  } finally {
    if (watch) clearInterval(watch);
    await pool.terminate(stopped);
    process.off('exit', killWorkers);
  }
  return { results, stopped };
}

/** Run seeds of a config in worker processes (a sweep): the seeds that finished, in seed order. */
export async function runSeeds(
  config: RunConfig,
  seeds: readonly number[],
  jobs: number,
  onDone?: (n: number) => void,
  interrupted?: () => boolean,
): Promise<{ results: RunRecord[]; stopped: boolean }> {
  const { results, stopped } = await runJobs(
    seeds.map((seed) => ({ kind: 'seed' as const, config, seed })),
    jobs,
    onDone,
    interrupted,
  );
  return { results: results.filter((r): r is RunRecord => r !== undefined), stopped };
}
