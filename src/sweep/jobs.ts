import type { RunConfig } from '../core/config.js';
import type { RunRecord } from '../core/outcome.js';
import type { Script } from '../core/scripted.js';
import type { ExploreOptions } from '../explore/explore.js';

/**
 * What a worker process is given: a seed of a config (a sweep's unit), or a
 * bounded exploration of a small program (the design search's other unit).
 */
export type Job = { kind: 'seed'; config: RunConfig; seed: number } | { kind: 'explore'; config: RunConfig; program: Script; options: ExploreOptions };

/** An exploration's result as it crosses from a worker: failures by signature, each with a script that replays one. */
export interface ExploreRecord {
  interleavings: number;
  states: number;
  exhausted: boolean;
  failures: { signature: string; verdict: string; exitCode: number; count: number; script: Script }[];
}

export type JobResult<J extends Job> = J extends { kind: 'seed' } ? RunRecord : ExploreRecord;
