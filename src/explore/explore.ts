import type { RunConfig } from '../core/config.js';
import { exitCode, signature, verdict } from '../core/outcome.js';
import { Run } from '../core/run.js';
import type { Script } from '../core/scripted.js';
import { StateHashing } from './hashing.js';
import { ExploreStrategy, type ChoicePoint } from './strategy.js';

/**
 * Systematic exploration (stateless model checking, as CHESS and Shuttle do
 * it): run a small program again and again, each time following a recorded
 * prefix of scheduling choices and then the default, and branch at every
 * choice point beyond the prefix, within a bound on preemptions. A state
 * already reached with at least as much preemption budget left is not
 * explored again (state hashing).
 */
export interface ExploreOptions {
  maxFlips: number;
  preemptions: number;
  maxSteps: number;
  budgetMs: number;
  /** Stop after this many interleavings (a bound that, unlike the time budget, gives the same result on any machine). */
  maxInterleavings?: number;
  /** Stop at the first failing interleaving (the design search asks only whether a design fails). */
  stopAtFirstFailure?: boolean;
}

export interface ExploreFailure {
  count: number;
  /** The verdict word of the first such interleaving. */
  verdict: string;
  exitCode: number;
  /** A script that replays one failing interleaving. */
  script: Script;
}

export interface ExploreResult {
  interleavings: number;
  states: number;
  exhausted: boolean;
  failures: Map<string, ExploreFailure>;
  seconds: number;
}

interface Once {
  points: ChoicePoint[];
  signature: string;
  verdict: string;
  exitCode: number;
  script: Script;
}

function runOnce(config: RunConfig, program: Script, o: ExploreOptions, prefix: number[]): Once {
  let dfs: ExploreStrategy | undefined;
  const run = new Run({
    config,
    ops: { kind: 'lines', ops: program.ops },
    flippers: { kind: 'explore', maxFlips: o.maxFlips },
    strategy: (p) => {
      const tasks = [p.fsx, ...p.flippers, ...p.background];
      const hashing = new StateHashing(p.k, p.engine, tasks);
      dfs = new ExploreStrategy(prefix, tasks, p.idle, p.position, () => hashing.key());
      hashing.inner = dfs;
      return hashing;
    },
  });
  const outcome = run.finish(o.maxSteps);
  return { points: dfs!.points, signature: signature(outcome), verdict: verdict(outcome), exitCode: exitCode(outcome), script: { ops: program.ops, flips: dfs!.flips } };
}

/**
 * Explore every interleaving within the bounds. Between interleavings it
 * gives the event loop a turn now and then (a signal, a progress line, the
 * test runner's heartbeat are not held up by a long exploration).
 */
export async function explore(config: RunConfig, program: Script, o: ExploreOptions): Promise<ExploreResult> {
  const t0 = performance.now();
  let lastTurn = t0;
  const seen = new Map<string, number>(); // state -> most preemption budget left when it was reached
  const failures = new Map<string, ExploreFailure>();
  const stack: number[][] = [[]];
  let interleavings = 0;
  let exhausted = true;
  while (stack.length) {
    if (performance.now() - t0 > o.budgetMs || interleavings >= (o.maxInterleavings ?? Infinity)) {
      exhausted = false;
      break;
    }
    if (performance.now() - lastTurn > 100) {
      await new Promise((r) => setImmediate(r));
      lastTurn = performance.now();
    }
    const prefix = stack.pop()!;
    const r = runOnce(config, program, o, prefix);
    interleavings++;
    if (r.signature) {
      const f = failures.get(r.signature);
      if (f) f.count++;
      else failures.set(r.signature, { count: 1, verdict: r.verdict, exitCode: r.exitCode, script: r.script });
      if (o.stopAtFirstFailure) {
        exhausted = false;
        break;
      }
    }
    // branch at the choice points past the prefix, deepest first so the stack stays small
    const branches: number[][] = [];
    for (let i = prefix.length; i < r.points.length; i++) {
      const p = r.points[i];
      const left = o.preemptions - p.used;
      const before = seen.get(p.hash);
      if (before !== undefined && before >= left) break; // this state and what follows were explored with as much budget
      seen.set(p.hash, left);
      for (const alt of p.runnable) {
        if (alt === p.chosen) continue;
        const cost = p.busy >= 0 && alt !== p.busy ? 1 : 0;
        if (p.used + cost > o.preemptions) continue;
        branches.push([...r.points.slice(0, i).map((q) => q.chosen), alt]);
      }
    }
    for (let b = branches.length - 1; b >= 0; b--) stack.push(branches[b]);
  }
  return { interleavings, states: seen.size, exhausted, failures, seconds: (performance.now() - t0) / 1000 };
}
