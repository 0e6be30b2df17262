import type { RunConfig } from '../core/config.js';
import { exitCode, signature, verdict, type Outcome } from '../core/outcome.js';
import { Run } from '../core/run.js';
import type { Script } from '../core/scripted.js';
import { instrumentModel } from '../kernel/access.js';
import { fileContents } from '../kernel/mm/filemap.js';
import { GenArena } from '../fsx/gendata.js';
import { StateHashing } from './hashing.js';
import { exploreReduced } from './reduction.js';
import { StepLog } from './steps.js';
import type { Task } from '../sched/task.js';
import { Covered, ExploreStrategy, SleepBlocked } from './strategy.js';
import { outOfBudget, tally, type ExploreFailure, type ExploreOptions, type ExploreResult, type Explored, type Pruned, type Runner } from './runs.js';
import { Turns } from '../util/turns.js';

export type { ExploreFailure, ExploreOptions, ExploreResult, Explored, Pruned, RunControl, Runner, Sleepers } from './runs.js';

/**
 * Systematic exploration (stateless model checking, as CHESS and Shuttle do
 * it): run a small program again and again, each time following a recorded
 * prefix of scheduling choices and then the default, and branch at every
 * choice point beyond the prefix, within a bound on preemptions. A state
 * already reached with at least as much preemption budget left is not
 * explored again (state hashing). With reduction (the default), the
 * branches are chosen by dynamic partial-order reduction over what each
 * step read and wrote (reduction.ts).
 */

function fnvBytes(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
  return `${b.length}:${h.toString(36)}`;
}

/** An outcome as explorations are compared: the verdict, the signature, and the file's final contents. */
export function outcomeKey(verdictWord: string, sig: string, contents: Uint8Array): string {
  return `${verdictWord}|${sig}|${fnvBytes(contents)}`;
}

/**
 * A program's runner: a Run with explore's flipper and strategy (and, when
 * asked, the model instrumented and each task's steps recorded). And why
 * reduction cannot run on it, when it cannot: with a background task
 * (drop_caches, the flusher), which wakes at a step count that every step
 * changes.
 */
export function programRunner(config: RunConfig, program: Script, o: ExploreOptions): { runner: Runner; why?: string } {
  const why = config.model.dropCaches > 0 || config.model.writeback > 0 ? 'background tasks wake at a step count, which every step changes' : undefined;
  // the good buffer's memory and fsx's original buffer, made once for all the program's runs
  const arena = new GenArena();
  const runner: Runner = (prefix, record, ctl) => {
    let dfs: ExploreStrategy | undefined;
    let log: StepLog | null = null;
    let tasks: readonly Task[] = [];
    const run = new Run({
      config,
      ops: { kind: 'lines', ops: program.ops },
      arena,
      flippers: { kind: 'explore', maxFlips: o.maxFlips },
      strategy: (p) => {
        tasks = [p.fsx, ...p.flippers, ...p.background];
        const hashing = new StateHashing(p.k, p.engine, tasks, p.idle, p.file);
        if (record) {
          const l = ctl?.replay ? StepLog.quietFor(ctl.replay.log, ctl.replay.steps) : new StepLog();
          l.attach(instrumentModel(p.k, l));
          tasks.forEach((t, i) => l.record(t, i, p.idle));
          log = l;
          hashing.written = () => l.written();
        }
        const plan = ctl?.sleep && log ? { at: prefix.length - 1, ...ctl.sleep, bound: o.preemptions, log } : undefined;
        dfs = new ExploreStrategy(prefix, tasks, p.idle, p.position, () => hashing.key(), plan, ctl?.covered, ctl?.replay?.points);
        hashing.inner = dfs;
        return hashing;
      },
    });
    let outcome: Outcome;
    try {
      outcome = run.finish(o.maxSteps);
    } catch (e) {
      if (!(e instanceof Covered)) throw e;
      return coveredRun(dfs!, log, tasks, e, { ops: program.ops, flips: dfs!.flips });
    }
    const v = verdict(outcome);
    const sig = signature(outcome);
    return {
      points: dfs!.points,
      log,
      pending: pendingOf(tasks),
      signature: sig,
      verdict: v,
      exitCode: exitCode(outcome),
      script: { ops: program.ops, flips: dfs!.flips },
      final: o.outcomes ? outcomeKey(v, sig, fileContents(run.k)) : null,
      blocked: false,
      cut: false,
      asleep: 0,
    };
  };
  return { runner, why };
}

/** A run stopped because another covers the rest of it. */
export function coveredRun(dfs: ExploreStrategy, log: StepLog | null, tasks: readonly Task[], e: Covered, script: Script): Explored {
  const blocked = e instanceof SleepBlocked;
  return { points: dfs.points, log, pending: pendingOf(tasks), signature: '', verdict: '', exitCode: 0, script, final: null, blocked, cut: !blocked, asleep: dfs.asleep };
}

/** The tasks (by index) not finished. */
export function pendingOf(tasks: readonly Task[]): number[] {
  const out: number[] = [];
  tasks.forEach((t, i) => {
    if (!t.done) out.push(i);
  });
  return out;
}

/** Explore every interleaving of a program within the bounds. */
export function explore(config: RunConfig, program: Script, o: ExploreOptions): Promise<ExploreResult> {
  const { runner, why } = programRunner(config, program, o);
  return exploreRuns(runner, o, why);
}


/**
 * Explore with a runner: reduced unless `o.reduction` is false or `cannot`
 * says why reduction cannot run on it (then every branch, as --no-reduction).
 */
export async function exploreRuns(runner: Runner, o: ExploreOptions, cannot?: string): Promise<ExploreResult> {
  if (o.reduction !== false && !cannot) return exploreReduced(runner, o);
  const res = await exploreAll(runner, o);
  if (o.reduction !== false) res.reduction = { on: false, why: cannot };
  return res;
}

/**
 * Without reduction: branch to every other runnable task at every choice
 * point past the prefix, within the preemption bound, deepest first; stop
 * branching along a run at the first state reached before with at least as
 * much preemption budget left.
 */
async function exploreAll(runner: Runner, o: ExploreOptions): Promise<ExploreResult> {
  const t0 = performance.now();
  const turns = new Turns();
  const seen = new Map<string, number>(); // state -> most preemption budget left when it was reached
  const failures = new Map<string, ExploreFailure>();
  const outcomes = o.outcomes ? new Set<string>() : undefined;
  const pruned: Pruned = { reduction: 0, sleepSet: 0, stateHash: 0, preemptionBound: 0 };
  const stack: number[][] = [[]];
  const hashing = o.stateHashing !== false;
  let interleavings = 0;
  let exhausted = true;
  let stopped = false;
  while (stack.length) {
    const budget = outOfBudget(o, t0, interleavings);
    if (budget.over) {
      exhausted = false;
      stopped = budget.stopped;
      break;
    }
    await turns.maybe();
    const prefix = stack.pop()!;
    const r = runner(prefix, false);
    interleavings++;
    tally(r, failures, outcomes);
    if (o.stopAtFirstFailure && failures.size) {
      exhausted = false;
      break;
    }
    // branch at the choice points past the prefix, deepest first so the stack stays small
    const branches: number[][] = [];
    for (let i = prefix.length; i < r.points.length; i++) {
      const p = r.points[i];
      const left = o.preemptions - p.used;
      const before = seen.get(p.hash);
      if (hashing && before !== undefined && before >= left) {
        pruned.stateHash++; // this state and what follows were explored with as much budget
        break;
      }
      if (before === undefined || left > before) seen.set(p.hash, left);
      for (const alt of p.runnable) {
        if (alt === p.chosen) continue;
        const cost = p.busy >= 0 && alt !== p.busy ? 1 : 0;
        if (p.used + cost > o.preemptions) {
          pruned.preemptionBound++;
          continue;
        }
        branches.push([...r.points.slice(0, i).map((q) => q.chosen), alt]);
      }
    }
    for (let b = branches.length - 1; b >= 0; b--) stack.push(branches[b]);
  }
  // every run goes to the end: state hashing only stops the branching along it
  return { interleavings, complete: interleavings, states: seen.size, exhausted, stopped, failures, seconds: (performance.now() - t0) / 1000, pruned, stateHashing: hashing, reduction: { on: false }, outcomes };
}
