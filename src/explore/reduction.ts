import { OBJ, RWSEMS, RWSEM_OBJS as LOCKS } from '../kernel/access.js';
import { holdsOf, type Holds } from './holds.js';
import { LockOrder } from './lockorder.js';
import { SEQ_STRIDE, Sequences, frontiers, materialize, newSummary, noteFrontiers, runRec, type RunRec, type Summary } from './summaries.js';
import { outOfBudget, tally, type ExploreFailure, type ExploreOptions, type ExploreResult, type Explored, type Pruned, type Runner, type Sleepers } from './runs.js';
import { Turns } from '../util/turns.js';
import { END_FINISHED, END_IDLE } from './steps.js';
import type { ChoicePoint } from './strategy.js';

/**
 * A choice point on the path of the current run: what could run, and what
 * has been (or is to be) explored from it.
 */
interface Node {
  /** Runnable tasks (bit i: task i). */
  runnable: number;
  /** The task that could go on (-1: none); choosing another costs a preemption. */
  busy: number;
  /** Preemptions used before this choice. */
  used: number;
  /** The task the current run took here. */
  chosen: number;
  /** Tasks explored from here, or being explored (the current run's). */
  done: number;
  /** Tasks a race asks to be explored from here. */
  todo: number;
  /** Tasks asked for but over the preemption bound (counted once). */
  over: number;
  /** At or past the point where the run reached a state explored before: nothing is asked for here. */
  cut: boolean;
  /** Tasks asleep here (sleep sets), and what their next steps read and write (by task). */
  sleep: number;
  sleepReads: number[];
  sleepWrites: number[];
  /** Tasks asked for but asleep here (counted once). */
  slept: number;
  /** The state here (the model's and each task's position): its key, and what the search keeps of it (visits, summary). */
  state: State;
  /** Whether analyse() kept its clocks of objects and tasks before this node's step, for the runs that branch here (their steps before it are the same): their size, 0 none (Store.clocks holds them, at this node's depth). */
  clocks: number;
  /** For each task explored from here: what its step here read and wrote, and how it ended. */
  stepReads: number[];
  stepWrites: number[];
  stepEnds: number[];
}

const bit = (t: number): number => 1 << t;

/** The names (OBJ's) of the locks in a mask. */
function lockNames(mask: number): string[] {
  return Object.entries(OBJ)
    .filter(([, b]) => mask & b)
    .map(([name]) => name);
}

function lowest(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

/**
 * Dynamic partial-order reduction (Flanagan and Godefroid, POPL 2005) over
 * the steps' recorded accesses, with sleep sets, bounded as Coons, Musuvathi
 * and McKinley's BPOR (OOPSLA 2013) bounds it, and with explore's state
 * hashing. Why each part is sound, and what is not proven:
 *
 * Races. Each run is a sequence of steps; each step has a task and the
 * objects it read and wrote (StepLog, kernel/access.ts). Two steps of
 * different tasks are dependent when one writes what the other reads or
 * writes; a step happens before another when a chain of same-task or
 * dependent steps leads from it to the other (vector clocks, analyse()).
 * After a run, for every step j of task p, the last step i before it that is
 * dependent with it, of another task, and not already ordered before p's
 * previous step, is a race: the other order may lead elsewhere, so p is
 * asked for at the choice point where i was taken (if p could run there;
 * if not, every task that could). Only those choices are explored: by
 * Flanagan and Godefroid's theorem the tasks asked for at each state form a
 * persistent set, so every Mazurkiewicz trace of the program (every class
 * of runs that differ only in the order of independent steps) is still run,
 * and the runs of one trace end in the same state with the same outcome.
 * That rests on the records: a step must record every object it reads or
 * writes, and two steps recorded independent must commute. The model's
 * objects are instrumented field by field, so no path can forget a call;
 * test/explore-reduction.test.ts checks every step's writes against the
 * model's state and runs independent neighbours in both orders.
 *
 * The end of a run. A run ends when fsx finishes (or a step fails); the
 * other tasks' next steps never run. The last step writes an END object
 * that such a step is taken to read, so each unfinished task is asked for
 * before the last step: that is how the flipper's flips get placed at all
 * (the first run leaves it idle), and from there each race moves them
 * earlier.
 *
 * Sleep sets (Godefroid). When task u is explored from a point after t was,
 * t sleeps in u's branch while the steps run there are independent of t's
 * step at the point: running it later is the same trace as running it
 * first, which t's branch covered. A run whose runnable tasks are all asleep
 * stops (sleepersFor(), ExploreStrategy).
 *
 * The preemption bound. A choice over the budget is not explored. DPOR with
 * only that rule loses traces: the reversal of a race may need one more
 * preemption where it is asked for, but none if the switch is made where
 * the running task's block of steps began; so, as BPOR does, every race also
 * asks for p at the start of the block of i's task that contains i, where
 * switching costs what the switch into that block cost. Sleep sets are
 * unsound with a bound in general (the trace the sleeper's branch ran may
 * have needed more preemptions, and so not have been run); they are used
 * only where it needs none more (sleepersFor() says when), and only with
 * two tasks. What is not proven: BPOR's coverage theorem is for BPOR alone;
 * this search adds the END steps, the sleep sets and the state hashing, and
 * no proof covers the combination. The tests compare the failures and the
 * set of final outcomes with --no-reduction on the hand-built failing plans
 * and on programs across designs, seeds and both file systems.
 *
 * Lazy locks. Taking and letting go of an rw_semaphore are not accesses of
 * data (locks.ts reports them apart, StepLog keeps them as takes and
 * releases): two holds of one lock by two tasks, with no conflicting access
 * inside them, end in the same state in either order (the lock is free
 * after both, and every access saw what it saw), so they are one trace and
 * are not both run (Thomson and Donaldson's lazy happens-before relation,
 * PPoPP 2015, which leaves out the edges a mutex adds). What
 * stays an access: the fast path's look at the lock (a read: whether it
 * was free) and queueing, waking and leaving the queue (writes), so a step
 * that waited races with the take of the holder it waited for. When a race
 * is found between step i of task q and step j of task p, and q holds a
 * lock through i that p holds through j's conflicting access (taken before
 * j, or in j after its accesses of that object), in modes that exclude each
 * other, j cannot run before i while q holds the lock: p is asked for where
 * q took it (requestRace()), for each such lock, which also places p's hold
 * between q's nested takes (how an ABBA deadlock is reached). Sleep sets
 * and the tests' commuting check still count lock operations as writes
 * (StepLog.writesWithLocks): a sleeping task's take does not commute with
 * another's hold. A deadlock is made by the order of takes alone, so
 * LockOrder (lockorder.ts) watches how tasks nest locks, and a lock that
 * can be part of a cycle of waits becomes eager (its takes and releases are
 * writes again) and the search starts over; the summary says which.
 *
 * State hashing. A run reaching a state explored before, with what covers
 * all that can follow (covers(): as much budget, counting the first switch,
 * and no task asleep then that is awake now), stops there: everything from
 * that state was explored, depth first, before the search came back above
 * it (the state's key folds in each task's history, so the state cannot
 * recur on its own path, and the first visit's branches were finished when
 * the search left them). But the steps explored from there race with this
 * run's earlier steps, as they raced with the first path's (Yang et al.,
 * stateful DPOR, SPIN 2008): each state keeps a summary of what every run
 * through it did from there on, and at the cut those races are asked to be
 * reversed (coverCut()); its sequences are worked out from the runs'
 * records when a walk first reads it (most summaries never are). The
 * summary keeps, per task, each distinct sequence of its steps' accesses
 * (frontiers()): only up to its first step
 * that a step of the other task after the state happens before (no step
 * before the state races with that one or any later one: the other task's
 * step is after all of them), and only the steps that touch something the
 * earlier ones did not (such a step conflicts with nothing they did not).
 * At the cut each sequence is walked as the run it was: each step races
 * with the latest conflicting step of the other task not ordered before
 * it, after which that step is. Past 16 sequences, or with more than two
 * tasks, the union of the objects stands in: for each object, the latest
 * conflicting step of another task not ordered before that task's last
 * step (the one race a step of the subtree would ask for is one of those
 * or none). A sequence's steps keep what lazy locks they held, so its races
 * go where lockedRace() puts them; the union's go to the conflicting step
 * and also where its task took each lazy lock it held (requestUnder()).
 *
 * Two more limits, as without reduction: a run cut off at --max-steps
 * counts as clean, and the state hash does not cover everything (the
 * README lists what it leaves out); with a background task (drop_caches,
 * the flusher), whose wake-ups follow the step count, there is no reduction.
 */
export async function exploreReduced(runner: Runner, o: ExploreOptions): Promise<ExploreResult> {
  const t0 = performance.now();
  const turns = new Turns();
  const failures = new Map<string, ExploreFailure>();
  const outcomes = o.outcomes ? new Set<string>() : undefined;
  const pruned: Pruned = { reduction: 0, sleepSet: 0, stateHash: 0, preemptionBound: 0 };
  // state -> each time it was explored: the preemption budget left, the task that could go on, the tasks asleep
  const seen = new Map<string, State>();
  const sequences = new Sequences();
  const P = o.preemptions;
  const path: Node[] = [];
  let prefix: number[] = [];
  let interleavings = 0;
  let complete = 0;
  let exhausted = true;
  let stopped = false;

  /** Alternatives the unreduced search would branch to at a finished node and this one did not. */
  const finish = (n: Node): void => {
    if (n.cut) return;
    let affordable = 0;
    for (let m = n.runnable; m; m &= m - 1) {
      const t = lowest(m);
      const cost = n.busy >= 0 && t !== n.busy ? 1 : 0;
      if (n.used + cost <= P) affordable |= bit(t);
    }
    pruned.reduction += popcount(affordable & ~n.done & ~n.slept);
  };
  let sleepers: Sleepers | undefined;
  const order = new LockOrder(RWSEMS);
  // analyse()'s vector clocks of the steps and clocks kept at the nodes, from run to run (Store)
  const vcs: Store = { vc: new Int32Array(0), clocks: new Int32Array(0), rec: null };
  // the run before, and the choice point this run branches from it at (its steps before that are the same)
  let prev: Explored | null = null;
  let branch = -1;
  // the number of tasks (sleep sets are for two)
  let T = 0;
  /**
   * Each new choice point of a run: a state explored before with what
   * covers all that can follow (covers()) stops the run there, since the
   * rest of it was explored from there already (the first run through that
   * state ran on from it by default, and its branches were explored before
   * the search came back above it: depth first). Otherwise it is noted.
   */
  const hashing = o.stateHashing !== false;
  // the states of this run's choice points past its prefix, in order (the nodes made for them take them)
  const states: State[] = [];
  const covered = (p: ChoicePoint): boolean => {
    const key = stateOf(p);
    const visit: Visit = { left: P - p.used, busy: p.busy, sleep: p.sleep };
    let state = seen.get(key);
    if (!state) seen.set(key, (state = { key, visits: [] }));
    states.push(state);
    if (hashing && state.visits.some((e) => covers(e, visit))) return true;
    state.visits.push(visit);
    return false;
  };

  for (;;) {
    const budget = outOfBudget(o, t0, interleavings);
    if (budget.over) {
      exhausted = false;
      stopped = budget.stopped;
      break;
    }
    await turns.maybe();
    states.length = 0;
    const r = runner(prefix, true, { sleep: sleepers, covered, replay: prev && branch >= 0 ? { log: prev.log!, steps: prev.points[branch].step, points: prev.points } : undefined });
    interleavings++;
    if (r.blocked) pruned.sleepSet++;
    else if (!r.cut) complete++;
    tally(r, failures, outcomes);
    if (o.stopAtFirstFailure && failures.size) {
      exhausted = false;
      break;
    }
    const pts = r.points;
    const log = r.log!;
    if (order.learn(log)) {
      // a lock's holds were taken to commute where they may deadlock: start again with it eager (lockorder.ts)
      path.length = 0;
      prefix = [];
      sleepers = undefined;
      prev = null;
      branch = -1;
      seen.clear();
      sequences.clear();
      vcs.rec = null;
      continue;
    }
    for (let j = 0; j < log.length; j++) if (log.task[j] >= T) T = log.task[j] + 1;
    for (const p of r.pending) if (p >= T) T = p + 1;
    for (let i = 0; i < prefix.length; i++) {
      if (pts[i]?.chosen !== path[i].chosen) throw new Error(`explore: the run did not follow its prefix at choice ${i} (the program is not deterministic)`);
    }
    path.length = prefix.length;
    if (prefix.length) noteStep(path[prefix.length - 1], pts[prefix.length - 1].step, log);
    // a run stopped by covered() stopped at its last choice point
    const cutAt = r.cut ? pts.length - 1 : pts.length;
    if (r.cut) pruned.stateHash++;
    for (let i = prefix.length; i < pts.length; i++) {
      const p = pts[i];
      let runnable = 0;
      for (const t of p.runnable) runnable |= bit(t);
      const node: Node = {
        runnable,
        busy: p.busy,
        used: p.used,
        state: states[i - prefix.length],
        chosen: p.chosen,
        done: bit(p.chosen),
        todo: 0,
        over: 0,
        cut: i >= cutAt,
        sleep: p.sleep,
        sleepReads: p.sleepReads ?? [],
        sleepWrites: p.sleepWrites ?? [],
        slept: 0,
        stepReads: [],
        stepWrites: [],
        stepEnds: [],
        clocks: 0,
      };
      noteStep(node, p.step, log);
      path.push(node);
    }
    analyse(r, path, cutAt, P, pruned, sequences, order.eager, prefix.length - 1, vcs);
    prev = r;
    // the deepest choice point with a task still to explore
    let i = path.length - 1;
    for (; i >= 0; i--) {
      const n = path[i];
      if (n.todo & ~n.done & ~n.sleep) break;
      finish(n);
    }
    if (i < 0) break;
    const n = path[i];
    const t = lowest(n.todo & ~n.done & ~n.sleep);
    sleepers = sleepersFor(n, t, T === 2);
    n.done |= bit(t);
    n.chosen = t;
    path.length = i + 1;
    prefix = path.map((x) => x.chosen);
    branch = i;
  }
  return { interleavings, complete, states: seen.size, exhausted, stopped, failures, seconds: (performance.now() - t0) / 1000, pruned, stateHashing: hashing, reduction: { on: true, eagerLocks: lockNames(order.eager) }, outcomes };
}

/** A choice point's state without who could go on (ExploreStrategy's hash ends with it): covers() compares that itself. */
function stateOf(p: ChoicePoint): string {
  return p.hash.slice(0, p.hash.lastIndexOf('|'));
}

/**
 * analyse()'s arrays kept from run to run: the steps' vector clocks (those
 * of the steps before a run's branch point are the run before's), and the
 * clocks kept at each node of the path (by its depth: a node's are written
 * when it is made, and the node at a depth is replaced only when the path is
 * cut above it).
 */
interface Store {
  vc: Int32Array;
  clocks: Int32Array;
  /** The last run's record of its steps (summaries.ts, RunRec). */
  rec: RunRec | null;
}

/** A state the search has reached: its key, each time it was explored, what was explored from it. */
interface State {
  key: string;
  visits: Visit[];
  summary?: Summary;
}

/** One exploration of a state: the preemption budget it had left, the task that could go on (-1: none), the tasks asleep. */
interface Visit {
  left: number;
  busy: number;
  sleep: number;
}

/**
 * Whether what was explored from a state at visit `e` covers all that can
 * follow it at visit `v`. Every run from the state costs, from e, no more
 * preemptions than from v, plus one at most (its first choice: free from e
 * when nobody could go on there or the same task could, one more at most
 * otherwise; after that the costs are the same); so e covers v if e had that
 * much more budget left. And no task may be asleep at e that is awake at v:
 * e's exploration skipped what its sleepers' steps start, v's must not.
 */
function covers(e: Visit, v: Visit): boolean {
  if (e.sleep & ~v.sleep) return false;
  return e.busy === -1 || e.busy === v.busy ? e.left >= v.left : e.left >= v.left + 1;
}

/** Keep what the step taken at a node read and wrote, and how it ended (for the sleep sets of its later branches). */
function noteStep(n: Node, step: number, log: NonNullable<Explored['log']>): void {
  if (step >= log.length) return;
  const t = log.task[step];
  n.stepReads[t] = log.reads[step];
  n.stepWrites[t] = log.writesWithLocks(step);
  n.stepEnds[t] = log.ends[step];
}

/**
 * Sleep sets (Godefroid): when task u is explored from node n after the
 * tasks already done there, each done task t whose step at n is
 * independent of what u's branch runs need not run that step in the
 * branch until something it depends on has run: any such run is the same
 * trace as one with t's step first, which t's own branch covered. The
 * inherited sleepers of n sleep on.
 *
 * With the preemption bound the trace t's branch ran may have needed more
 * preemptions than the one skipped here, and then it was not run at all.
 * With two tasks (fsx and the flipper) it never needs more when t was the
 * task that could go on at n (choosing u preempted it), or when nobody
 * could go on at n and t's step there left t idle or finished: moving t's
 * step first then adds no switch the skipped run did not make. Wakes when
 * a step leaves its task waiting (strategy.ts) keep "could go on" the same
 * in both orders. Only those t sleep; with more than two tasks none does.
 */
function sleepersFor(n: Node, u: number, tasks2: boolean): Sleepers {
  const reads = n.sleepReads.slice();
  const writes = n.sleepWrites.slice();
  let tasks = n.sleep & ~bit(u);
  if (tasks2) {
    for (let m = n.done & ~bit(u); m; m &= m - 1) {
      const t = lowest(m);
      const safe = n.busy === t || (n.busy < 0 && (n.stepEnds[t] === END_IDLE || n.stepEnds[t] === END_FINISHED));
      if (!safe || n.stepReads[t] === undefined) continue;
      tasks |= bit(t);
      reads[t] = n.stepReads[t];
      writes[t] = n.stepWrites[t];
    }
  }
  return { tasks, reads, writes };
}

/** analyse()'s per-step arrays, kept from run to run (each run writes the entries it reads: its first n, n + 2 for nodeAfter). */
let buffers = { writes: new Int32Array(0), pointOf: new Int32Array(0), blockStart: new Int32Array(0), nodeAfter: new Int32Array(0), holds: undefined as Holds | undefined };

/**
 * Find the races of one run and ask for their reversals at the choice
 * points of `path` before `cutAt` (points from `cutAt` on are covered by
 * a state explored before).
 */
function analyse(r: Explored, path: Node[], cutAt: number, P: number, pruned: Pruned, sequences: Sequences, eager: number, branch: number, vcs: Store): void {
  const log = r.log!;
  const n = log.length;
  if (n === 0) return;
  const task = log.task;
  const reads = log.reads;
  if (buffers.writes.length < n + 2) {
    const size = 2 * (n + 2);
    const L = LOCKS.length;
    buffers = { writes: new Int32Array(size), pointOf: new Int32Array(size), blockStart: new Int32Array(size), nodeAfter: new Int32Array(size), holds: { heldR: new Int32Array(size), heldW: new Int32Array(size), startR: new Int32Array(size), startW: new Int32Array(size), acq: new Int32Array(size * L) } };
  }
  const writes = buffers.writes;
  for (let j = 0; j < n; j++) writes[j] = log.writes[j] | ((log.takes[j] | log.releases[j]) & eager);
  if (!r.blocked && !r.cut) writes[n - 1] |= OBJ.END;
  let T = 0;
  for (let j = 0; j < n; j++) if (task[j] >= T) T = task[j] + 1;
  for (const p of r.pending) if (p >= T) T = p + 1;

  const pointOf = buffers.pointOf.fill(-1, 0, n);
  r.points.forEach((p, k) => {
    if (p.step < n) pointOf[p.step] = k;
  });
  // the first step of the block of same-task steps each step is in
  const blockStart = buffers.blockStart;
  blockStart[0] = 0;
  for (let j = 1; j < n; j++) blockStart[j] = task[j] === task[j - 1] ? blockStart[j - 1] : j;

  // the lazy locks each step's task holds while it runs (taken before or in it), for read and for write, and where it took each
  const lazy = RWSEMS & ~eager;
  const L = LOCKS.length;
  const { heldR, heldW, startR, startW, acq } = holdsOf(log, n, T, lazy, buffers.holds);

  const addAt = (x: number, p: number): void => {
    if (x < 0 || x >= cutAt) return;
    const node = path[x];
    let want = node.runnable & bit(p) ? bit(p) : node.runnable;
    want &= ~node.done & ~node.todo;
    const asleep = want & node.sleep & ~node.slept;
    if (asleep) {
      node.slept |= asleep;
      pruned.sleepSet += popcount(asleep);
    }
    want &= ~node.sleep;
    for (let m = want; m; m &= m - 1) {
      const t = lowest(m);
      const cost = node.busy >= 0 && t !== node.busy ? 1 : 0;
      if (node.used + cost > P) {
        if (!(node.over & bit(t))) {
          node.over |= bit(t);
          pruned.preemptionBound++;
        }
        continue;
      }
      node.todo |= bit(t);
    }
  };
  // per task, the nodes whose state a race's block-start request went above (a difference array over nodes)
  const nodes = r.points.length;
  const nodeAfter = buffers.nodeAfter; // the first node whose step is >= j
  for (let j = 0, k = 0; j <= n + 1; j++) {
    while (k < nodes && r.points[k].step < j) k++;
    nodeAfter[j] = k;
  }
  const blockMarks: Int32Array[] = [];
  const markBlock = (p: number, from: number, to: number): void => {
    // the nodes with step in (from, to]: their states lie inside the block the request went to the start of
    const lo = nodeAfter[from + 1];
    const hi = nodeAfter[to + 1];
    if (lo >= hi) return;
    (blockMarks[p] ??= new Int32Array(nodes + 1))[lo]++;
    blockMarks[p][hi]--;
  };
  const request = (p: number, i: number): void => {
    addAt(pointOf[i], p);
    const b = blockStart[i];
    if (b !== i) {
      addAt(pointOf[b], p);
      markBlock(p, b, i);
    }
  };

  /**
   * Reverse the race of step i (another task's) and p's step j. When i's
   * task holds a lazy lock through i that p holds through j's conflicting
   * access, in modes that exclude each other, j cannot run before i unless
   * p's hold comes before the other's: p is asked for where that hold was
   * taken, not at i.
   */
  const requestRace = (p: number, i: number, j: number): void => {
    lockedRace(p, i, reads[j], writes[j], startR[j], startW[j], log.takes[j] & ~log.takesW[j] & lazy, log.takesW[j] & lazy, log.preReads[j] | log.preWrites[j]);
  };
  /**
   * The same for a step of p that read `rj` and wrote `wj`, holding `sR`
   * and `sW` (read, write) when it began and taking `tR` and `tW` after
   * accessing `pre`.
   */
  const lockedRace = (p: number, i: number, rj: number, wj: number, sR: number, sW: number, tR: number, tW: number, pre: number): void => {
    const dep = (writes[i] & (rj | wj)) | (reads[i] & wj);
    let pr = sR;
    let pw = sW;
    if (!(dep & pre)) {
      pr |= tR;
      pw |= tW;
    }
    const clash = (heldW[i] & (pr | pw)) | (heldR[i] & pw);
    if (!clash) {
      request(p, i);
      return;
    }
    for (let li = 0; li < L; li++) if (clash & LOCKS[li]) request(p, acq[i * L + li]);
  };
  /** A race with a step of p not run here (a covered state's subtree): at i, and where i's task took each lazy lock it holds through i. */
  const requestUnder = (p: number, i: number): void => {
    request(p, i);
    const held = heldR[i] | heldW[i];
    for (let li = 0; li < L; li++) if (held & LOCKS[li] && acq[i * L + li] !== i) request(p, acq[i * L + li]);
  };

  // vector clocks: vc[j*T + q] is the last step of task q that happens before step j (or is it)
  if (vcs.vc.length < n * T) {
    const grown = new Int32Array(Math.max(n * T, 2 * vcs.vc.length));
    grown.set(vcs.vc);
    vcs.vc = grown;
  }
  const vc = vcs.vc;
  const lastOf = new Int32Array(T).fill(-1);
  // per object: the last write, and the reads since, joined
  const lastWrite = new Int32Array(32).fill(-1);
  const readClock = new Int32Array(32 * T).fill(-1);
  // per task and object: its last read and its last write
  const lastR = new Int32Array(T * 32).fill(-1);
  const lastW = new Int32Array(T * 32).fill(-1);

  const join = (j: number, from: number): void => {
    for (let q = 0; q < T; q++) if (vc[from * T + q] > vc[j * T + q]) vc[j * T + q] = vc[from * T + q];
  };

  /**
   * For each other task q and each object in `w` (written) or `rd` (only
   * read), q's latest step so far that conflicts with that access (any
   * access of a written object, a write of a read one), when it is not
   * already ordered before p's last step.
   */
  const eachConflict = (p: number, w: number, rd: number, f: (c: number) => void): void => {
    const prev = lastOf[p];
    for (let q = 0; q < T; q++) {
      if (q === p) continue;
      const boundary = prev >= 0 ? vc[prev * T + q] : -1;
      for (let m = w; m; m &= m - 1) {
        const b = lowest(m);
        const c = Math.max(lastR[q * 32 + b], lastW[q * 32 + b]);
        if (c > boundary) f(c);
      }
      for (let m = rd; m; m &= m - 1) {
        const c = lastW[q * 32 + lowest(m)];
        if (c > boundary) f(c);
      }
    }
  };
  let best = -1;
  const keepBest = (c: number): void => {
    if (c > best) best = c;
  };

  /**
   * The clocks before each new choice point's step are kept on its node: a
   * run that branches there has the same steps before it (the same prefix,
   * replayed), whose races were asked for already (asking again changes
   * nothing), so its analysis starts there, with those clocks and the run
   * before's vector clocks of the steps before.
   */
  const CLOCKS = 32 + 3 * 32 * T + T;
  const keepClocks = (k: number): void => {
    if (vcs.clocks.length < (k + 1) * CLOCKS) {
      const grown = new Int32Array(Math.max((k + 1) * CLOCKS, 2 * vcs.clocks.length));
      grown.set(vcs.clocks);
      vcs.clocks = grown;
    }
    const c = vcs.clocks;
    const at = k * CLOCKS;
    c.set(lastWrite, at);
    c.set(readClock, at + 32);
    c.set(lastR, at + 32 + 32 * T);
    c.set(lastW, at + 32 + 64 * T);
    c.set(lastOf, at + 32 + 96 * T);
    path[k].clocks = CLOCKS;
  };
  let start = 0;
  const kept = branch >= 0 && path[branch].clocks === CLOCKS;
  if (kept) {
    const from = vcs.clocks.subarray(branch * CLOCKS, (branch + 1) * CLOCKS);
    start = r.points[branch].step;
    lastWrite.set(from.subarray(0, 32));
    readClock.set(from.subarray(32, 32 + 32 * T));
    lastR.set(from.subarray(32 + 32 * T, 32 + 64 * T));
    lastW.set(from.subarray(32 + 64 * T, 32 + 96 * T));
    lastOf.set(from.subarray(32 + 96 * T));
  }
  vc.fill(-1, start * T, n * T);

  const cutStep = cutAt < nodes ? r.points[cutAt].step : -1;
  for (let j = start; j < n; j++) {
    const k = pointOf[j];
    if (k >= 0 && k < cutAt && !path[k].clocks) keepClocks(k);
    if (j === cutStep) coverCut(j);
    const p = task[j];
    const prev = lastOf[p];
    const w = writes[j];
    const rd = reads[j] & ~w;
    // the race: the latest step of another task dependent with j and not ordered before p's previous step
    best = -1;
    eachConflict(p, w, rd, keepBest);
    if (best >= 0) requestRace(p, best, j);
    // j's clock
    if (prev >= 0) join(j, prev);
    for (let m = rd; m; m &= m - 1) {
      const b = lowest(m);
      if (lastWrite[b] >= 0) join(j, lastWrite[b]);
    }
    for (let m = w; m; m &= m - 1) {
      const b = lowest(m);
      if (lastWrite[b] >= 0) join(j, lastWrite[b]);
      for (let q = 0; q < T; q++) if (readClock[b * T + q] > vc[j * T + q]) vc[j * T + q] = readClock[b * T + q];
    }
    vc[j * T + p] = j;
    for (let m = w; m; m &= m - 1) {
      const b = lowest(m);
      lastWrite[b] = j;
      readClock.fill(-1, b * T, b * T + T);
      lastW[p * 32 + b] = j;
    }
    for (let m = rd; m; m &= m - 1) {
      const b = lowest(m);
      for (let q = 0; q < T; q++) if (vc[j * T + q] > readClock[b * T + q]) readClock[b * T + q] = vc[j * T + q];
      lastR[p * 32 + b] = j;
    }
    lastOf[p] = j;
  }

  // a run stopped at the covered state: its step there was not run
  if (cutStep === n) coverCut(n);

  // the tasks that never got to run their next step: it reads END, which the last step wrote
  const last = n - 1;
  if (r.cut) {
    // stopped where the rest was covered: the summary of that state stands for it
  } else if (!r.blocked) {
    for (const p of r.pending) if (p !== task[last]) request(p, last);
  } else {
    // stopped with every runnable task asleep (or awake but over the bound): an awake task's next step,
    // not known, is taken to conflict with everything: its race is the last step of another task not ordered before its own
    for (const p of r.pending) {
      if (r.asleep & bit(p)) continue;
      const prev = lastOf[p];
      for (let i = last; i >= 0; i--) {
        if (task[i] === p) continue;
        if (prev < 0 || i > vc[prev * T + task[i]]) request(p, i);
        break;
      }
    }
  }

  /**
   * Each of p's sequences in summary s, as the run of steps it was (two
   * tasks): a step races with the latest conflicting step of the other
   * task not ordered before it (after `bound`), and after a race that step
   * is ordered before the rest. A summary with too many sequences stands
   * for them with every object its task touched, as with more tasks.
   */
  function walk(s: Summary, p: number, bound: number, chain: Set<Summary>, walked = new Set<string>()): void {
    materialize(s, p, sequences);
    const seqs = s.seqs[p];
    if (!seqs) {
      const sw = s.w[p];
      eachConflict(p, sw, s.r[p] & ~sw, (c) => requestUnder(p, c));
      return;
    }
    for (const { head, tail } of seqs) {
      let b = bound;
      for (let x = 0; x < head.length; x += SEQ_STRIDE) {
        best = -1;
        const sw = head[x + 1];
        eachConflict(p, sw, head[x] & ~sw, keepBest);
        if (best > b) {
          lockedRace(p, best, head[x], sw, head[x + 2], head[x + 3], head[x + 4], head[x + 5], head[x + 6]);
          b = best;
        }
      }
      // a state walked from before with the same bound asks for the same again
      if (tail !== null && !chain.has(tail) && !walked.has(`${tail.id}|${b}`)) {
        walked.add(`${tail.id}|${b}`);
        chain.add(tail);
        walk(tail, p, b, chain, walked);
        chain.delete(tail);
      }
    }
  }

  /**
   * The run reached, at step j, a state explored before: what was explored
   * from it is not run again, but its steps race with this run's steps
   * before j as they did with the first path's. With two tasks each of the
   * summary's sequences is walked (walk()). Otherwise, for each task p and
   * each object it touched from there, the latest step of another task
   * before j that conflicts with that access and is not already ordered
   * before p's last step here is asked to be reversed: a step of that
   * subtree may be ordered after more of this run than p's last step is,
   * so its real race can only be one of these (or none).
   */
  function coverCut(j: number): void {
    const s = path[cutAt].state.summary;
    if (!s) return;
    for (let p = 0; p < T && p < s.r.length; p++) {
      if (T === 2) {
        const prev = lastOf[p];
        walk(s, p, prev >= 0 ? vc[prev * T + (1 - p)] : -1, new Set([s]));
        continue;
      }
      const sw = s.w[p];
      const sr = s.r[p] & ~sw;
      if (!sw && !sr) continue;
      eachConflict(p, sw, sr, (c) => requestUnder(p, c));
    }
    // requests the subtree made at the start of a block that began above the state (the block of the
    // task that goes on here: the choice made at the state, which may not have run)
    const b = j < n ? blockStart[j] : r.points[cutAt].chosen === task[n - 1] ? blockStart[n - 1] : n;
    for (let m = s.block; m; m &= m - 1) {
      const p = lowest(m);
      if (b !== j) {
        addAt(pointOf[b], p);
        markBlock(p, b, j);
      }
    }
  }

  // what this run did from each state before the cut, for the runs that will reach those states again
  const cutSummary = cutAt < nodes ? path[cutAt].state.summary : undefined;
  const lockInfo = (j: number, out: Int32Array, at: number): void => {
    out[at] = startR[j];
    out[at + 1] = startW[j];
    out[at + 2] = log.takes[j] & ~log.takesW[j] & lazy;
    out[at + 3] = log.takesW[j] & lazy;
    out[at + 4] = log.preReads[j] | log.preWrites[j];
  };
  // the choice points above the branch, and the steps before it, are the run before's: so are the frontiers that end there
  const same = kept ? { above: branch, fresh: start } : null;
  const sums: Summary[] = [];
  for (let k = 0, upto = Math.min(cutAt, nodes); k < upto; k++) sums.push((path[k].state.summary ??= newSummary(T)));
  // this run's steps, for the sequences worked out when a state is read (a record only with two tasks: with more, no sequences)
  const rec = T === 2 ? runRec(vcs.rec, start, n, task, reads, writes, ~OBJ.END, lockInfo) : null;
  vcs.rec = rec;
  const frontier = frontiers(T, n, task, reads, writes, ~OBJ.END, rec, vc, r.points, sums, cutSummary, same);
  noteFrontiers(sums, T, frontier, blockMarks);
}

