import type { ParsedOp } from '../fsx/fsxops.js';
import type { FlipSpec } from '../sched/schedule.js';
import type { RunConfig } from './config.js';
import type { Outcome } from './outcome.js';
import { Run } from './run.js';

/**
 * A scripted run: fsx's operations (as replay lines, with the op number
 * whose data each writes) and a schedule of flips. Shrinking edits
 * scripts, explore finds them, replay follows them.
 */
export interface Script {
  ops: ParsedOp[];
  flips: FlipSpec[];
}

/** A run in memory: how it ended, its counts, and the run itself (for its trace). */
export interface Ran {
  outcome: Outcome;
  ops: number;
  steps: number;
  flips: number;
  run: Run;
}

function ran(run: Run, outcome: Outcome): Ran {
  return { outcome, ...run.counts, run };
}

/** Run a script (its ops in fsx's replay semantics, its flips at their anchors) in memory. */
export function runScript(config: RunConfig, script: Script, trace = false, maxSteps = 5_000_000): Ran {
  const run = new Run({ config, ops: { kind: 'lines', ops: script.ops }, flippers: config.model.flip ? { kind: 'script', flips: script.flips } : { kind: 'loop' }, trace });
  // where a flip may be anchored in each op (the shrinker's re-anchoring asks)
  run.position.keepLengths = true;
  return ran(run, run.finish(maxSteps));
}

/** Run a config's own stream in memory and write it down as a script: every op that ran, and the schedule. */
export function recordRun(config: RunConfig, maxSteps = 50_000_000, limit = 200_000): Ran & { script: Script } {
  const run = new Run({ config, record: limit });
  const outcome = run.finish(maxSteps);
  return { ...ran(run, outcome), script: { ops: [...run.engine.keptOps], flips: anchored(run) } };
}

/**
 * The recorded flips with their anchors moved from fsx's op numbers (which
 * count skipped ops) to positions in the recorded op list (which has none).
 */
function anchored(run: Run): Script['flips'] {
  const ops = run.engine.keptOps;
  const out: Script['flips'] = [];
  for (const f of run.recording?.flips ?? []) {
    if (f.op === 0) {
      out.push(f);
      continue;
    }
    const i = ops.findIndex((o) => (o.tc ?? 0) >= f.op);
    if (i < 0) continue;
    out.push(ops[i].tc === f.op ? { ...f, op: i + 1 } : { op: i + 1, tick: 0, choices: f.choices });
  }
  return out;
}
