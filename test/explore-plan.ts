import { classify, signature, verdict } from '../src/core/outcome.js';
import { coveredRun, outcomeKey, pendingOf, type ExploreOptions, type Explored, type RunControl } from '../src/explore/explore.js';
import { StateHashing } from '../src/explore/hashing.js';
import { StepLog } from '../src/explore/steps.js';
import { Covered, ExploreStrategy } from '../src/explore/strategy.js';
import { instrumentModel } from '../src/kernel/access.js';
import type { Machine } from '../src/kernel/machine.js';
import { fileContents } from '../src/kernel/mm/filemap.js';
import { FsxPosition } from '../src/sched/schedule.js';
import type { Task, Waitable } from '../src/sched/task.js';

/**
 * Run the tasks added to machine `m` (fsx first: the run ends when it does)
 * as explore's runner runs a program: under explore's strategy and state
 * hashing, following `prefix`, with each step recorded when asked. The
 * outcome also says what `seen()` gives at the end.
 */
export function runAsExplore(m: Machine, tasks: Task[], idle: Waitable, prefix: readonly number[], record: boolean, ctl: RunControl | undefined, o: ExploreOptions, seen: () => string, newLog: () => StepLog = () => new StepLog()): Explored {
  const hashing = new StateHashing(m.k, null, tasks, idle);
  let log: StepLog | null = null;
  if (record) {
    const l = newLog();
    l.attach(instrumentModel(m.k, l));
    tasks.forEach((t, i) => l.record(t, i, idle));
    log = l;
    hashing.written = () => l.written();
  }
  const plan = ctl?.sleep && log ? { at: prefix.length - 1, ...ctl.sleep, bound: o.preemptions, log } : undefined;
  const dfs = new ExploreStrategy(prefix, tasks, idle, new FsxPosition(() => 0), () => hashing.key(), plan, ctl?.covered);
  hashing.inner = dfs;
  m.sched.strategy = hashing;
  const script = { ops: [], flips: dfs.flips };
  let error: unknown = null;
  try {
    m.sched.run(m.fsx, o.maxSteps);
  } catch (e) {
    if (e instanceof Covered) return coveredRun(dfs, log, tasks, e, script);
    error = e;
  }
  const outcome = error === null ? { kind: 'clean' as const } : classify(error, m.k);
  if (!outcome) throw error;
  const v = verdict(outcome);
  const sig = signature(outcome);
  return { points: dfs.points, log, script, pending: pendingOf(tasks), signature: sig, verdict: v, exitCode: 0, final: `${outcomeKey(v, sig, fileContents(m.k))}|${seen()}`, blocked: false, cut: false, asleep: 0 };
}
