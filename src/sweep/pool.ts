import { Piscina } from 'piscina';
import type { RunConfig } from '../core/config.js';
import type { RunRecord } from '../core/outcome.js';
import type { Job, JobResult } from './jobs.js';

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
 * Run jobs (seeds, explorations) in worker threads; results in job order
 * whatever the order workers finish. When `interrupted()` turns true the
 * jobs in flight are abandoned at once (their threads are ended: a seed of
 * millions of ops does not hold a Ctrl-C up) and the results of the jobs
 * that finished are returned (the others are left undefined).
 */
export async function runJobs<J extends Job>(
  jobs: readonly J[],
  threads: number,
  onDone?: (n: number) => void,
  interrupted?: () => boolean,
): Promise<{ results: (JobResult<J> | undefined)[]; stopped: boolean }> {
  const pool = new Piscina({
    filename: workerUrl(),
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GEN_MB },
  });
  const results: (JobResult<J> | undefined)[] = new Array<JobResult<J> | undefined>(jobs.length).fill(undefined);
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
  let next = 0;
  const runOne = async (): Promise<void> => {
    while (!stopped && next < jobs.length) {
      const i = next++;
      try {
        results[i] = (await pool.run(jobs[i], { signal: abort.signal })) as JobResult<J>;
      } catch (e) {
        if (stopped) return; // abandoned by the interrupt
        throw e;
      }
      onDone?.(++done);
    }
  };
  try {
    await Promise.all(Array.from({ length: threads }, runOne));
  } finally {
    if (watch) clearInterval(watch);
    await pool.destroy();
  }
  return { results, stopped };
}

/** Run seeds of a config in worker threads (a sweep): the seeds that finished, in seed order. */
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
