import type { Script } from '../core/scripted.js';
import type { StepLog } from './steps.js';
import type { ChoicePoint } from './strategy.js';

/** What an exploration is given and gives, and what both ways of exploring (explore.ts, reduction.ts) share. */
export interface ExploreOptions {
  maxFlips: number;
  preemptions: number;
  maxSteps: number;
  /** Wall-clock limit (Infinity: none; a search it cuts short depends on the machine's speed). */
  budgetMs: number;
  /** Stop after this many interleavings (a bound that, unlike the time budget, gives the same result on any machine). */
  maxInterleavings?: number;
  /** Stop at the first failing interleaving (the design search asks only whether a design fails). */
  stopAtFirstFailure?: boolean;
  /** Partial-order reduction (false: --no-reduction, every branch the bounds and the state hashing allow). */
  reduction?: boolean;
  /** State hashing (false: --no-state-hashing, every state explored again each time it is reached; for checking the hash). */
  stateHashing?: boolean;
  /** Keep the set of final outcomes (verdict, signature, the file's final contents): for tests comparing explorations. */
  outcomes?: boolean;
  /** Asked before each run: true stops the exploration there (a signal), with what was found so far. */
  stop?: () => boolean;
}

export interface ExploreFailure {
  count: number;
  /** The verdict word of the first such interleaving. */
  verdict: string;
  exitCode: number;
  /** A script that replays one failing interleaving. */
  script: Script;
}

/** What was not run, by the means that pruned it (each counts alternatives at choice points, or runs cut short). */
export interface Pruned {
  /** Alternatives the unreduced search would have branched to that partial-order reduction never scheduled (no race asked for them). */
  reduction: number;
  /** Alternatives a race asked for where the task was asleep, and runs stopped where every runnable task was (sleep sets). */
  sleepSet: number;
  /** Runs whose later choice points were not branched: a state explored before with as much budget (and, reduced, no fewer races to cover). */
  stateHash: number;
  /** Alternatives over the preemption bound. */
  preemptionBound: number;
}

export interface ExploreResult {
  /** Runs started (each branch the search took). */
  interleavings: number;
  /** Of those, the runs that ran to the end (fsx finished, or a step failed); the others stopped where runs before cover the rest (a state explored before, or every task that could run asleep). */
  complete: number;
  states: number;
  exhausted: boolean;
  /** Stopped by `stop` (not the budget or the interleaving bound). */
  stopped?: boolean;
  failures: Map<string, ExploreFailure>;
  seconds: number;
  pruned: Pruned;
  /** Whether states reached before were pruned. */
  stateHashing: boolean;
  /** Whether partial-order reduction ran, and if it was asked for but could not, why not. */
  reduction: { on: boolean; why?: string; eagerLocks?: string[] };
  /** Each distinct final outcome, `verdict|signature|hash of the final file` (with `outcomes`). */
  outcomes?: Set<string>;
}

/** One run as exploration sees it. */
export interface Explored {
  points: ChoicePoint[];
  /** Every step with what it read and wrote (reduction only). */
  log: StepLog | null;
  /** Tasks (by index) that had not finished when the run ended: their next step never ran. */
  pending: number[];
  signature: string;
  verdict: string;
  exitCode: number;
  script: Script;
  /** `verdict|signature|hash of the final file`, when outcomes are kept. */
  final: string | null;
  /** Stopped where every task that could run was asleep (sleep sets): no outcome, the rest is covered by another run. */
  blocked: boolean;
  /** Stopped at its last choice point, a state explored before (RunControl.covered): no outcome, the rest is covered. */
  cut: boolean;
  /** The tasks asleep when it stopped. */
  asleep: number;
}

/** Who sleeps from a branch point on, and what their next steps read and write (by task). */
export interface Sleepers {
  tasks: number;
  reads: number[];
  writes: number[];
}

/** What the reduced exploration asks of a run beyond its prefix. */
export interface RunControl {
  /** Sleep sets from the prefix's last choice on. */
  sleep?: Sleepers;
  /** Asked at each choice point past the prefix: true stops the run there. */
  covered?: (p: ChoicePoint) => boolean;
  /** The run before, whose first `steps` steps this one runs again: their records are taken from its log, not made again (StepLog.quietFor), and its choice points before the branch are taken as they are. */
  replay?: { log: StepLog; steps: number; points: readonly ChoicePoint[] };
}

/** Runs a program under a prefix of choices; `record` asks for the steps' accesses. */
export type Runner = (prefix: readonly number[], record: boolean, ctl?: RunControl) => Explored;

/** Whether an exploration must end before its next run: its budget in time or runs spent, or `stop` said so (then `stopped`). */
export function outOfBudget(o: ExploreOptions, t0: number, interleavings: number): { over: boolean; stopped: boolean } {
  if (o.stop?.()) return { over: true, stopped: true };
  return { over: performance.now() - t0 > o.budgetMs || interleavings >= (o.maxInterleavings ?? Infinity), stopped: false };
}

/** Note a run's failure and outcome. */
export function tally(r: Explored, failures: Map<string, ExploreFailure>, outcomes: Set<string> | undefined): void {
  if (r.blocked || r.cut) return;
  if (r.signature) {
    const f = failures.get(r.signature);
    if (f) f.count++;
    else failures.set(r.signature, { count: 1, verdict: r.verdict, exitCode: r.exitCode, script: r.script });
  }
  if (outcomes && r.final !== null) outcomes.add(r.final);
}
