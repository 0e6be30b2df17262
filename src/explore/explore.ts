import type { RunArgs } from '../cli/fsxargs.js';
import { FsxEngine, type FsxOutput } from '../fsx/engine.js';
import { DaxEntry, HOLE, type Kernel } from '../kernel/core.js';
import { buildMachine, flipperTaskFor } from '../kernel/machine.js';
import { flipOnce } from '../kernel/syscalls.js';
import { classify } from '../replay/execute.js';
import type { FlipSpec, Script } from '../replay/script.js';
import type { Strategy } from '../sched/scheduler.js';
import type { Task, Waitable } from '../sched/task.js';

/**
 * Systematic exploration (stateless model checking, as CHESS and Shuttle do
 * it): run a small program again and again, each time following a recorded
 * prefix of scheduling choices and then the default (keep running the
 * current task; after a flip, back to fsx), and branch at every choice
 * point beyond the prefix, within a bound on preemptions. A state already
 * reached with at least as much preemption budget left is not explored
 * again (state hashing).
 */
export interface ExploreOptions {
  maxFlips: number;
  preemptions: number;
  maxSteps: number;
  budgetMs: number;
}

export interface ExploreFailure {
  count: number;
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

/** The flipper between flips: runnable, but the default schedule leaves it alone. */
class Idle implements Waitable {
  ready(): boolean {
    return true;
  }
  describe(): string {
    return 'between flips';
  }
}

interface ChoicePoint {
  /** Runnable task indices (0 fsx, 1 the flipper). */
  runnable: number[];
  chosen: number;
  /** Preemptions used before this choice. */
  used: number;
  /** The task that was running and could go on (-1: none); choosing another preempts it. */
  busy: number;
  hash: string;
}

const SILENT: FsxOutput = { prt: () => {}, warn: () => {}, writeOps: () => null, writeGood: () => {} };

function fnv(h: number, x: number): number {
  return Math.imul(h ^ x, 0x01000193) >>> 0;
}

function hashBytes(h: number, b: Uint8Array): number {
  const w = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  for (let i = 0; i < w.length; i++) h = fnv(h, w[i]);
  return h;
}

/** Everything that decides what happens next: the model's state and where each task is. */
function stateHash(k: Kernel, tasks: Task[], paths: number[], engine: FsxEngine): string {
  const ip = k.inode;
  let h = 0x811c9dc5;
  for (const v of [ip.i_size, +ip.diskDax, +ip.sDax, +ip.dontcache, ip.refs, +ip.evicted, k.flips, engine.fileSize]) h = fnv(h, v);
  for (let b = 0; b < ip.blocks.length; b++) {
    const p = ip.blocks[b];
    if (p === HOLE) continue;
    h = fnv(fnv(h, b), ip.unwritten[b]);
    if (!ip.unwritten[b]) h = hashBytes(h, k.media.block(p));
  }
  const entries = [...ip.mapping.entries.entries()].sort((a, b) => a[0] - b[0]);
  for (const [i, e] of entries) {
    h = fnv(h, i);
    if (e instanceof DaxEntry) h = fnv(h, e.dirty ? 3 : 2);
    else {
      h = fnv(fnv(fnv(h, +e.dirty), +e.uptodate), e.mapcount);
      h = fnv(h, e.locker ? e.locker.pid : 0);
      h = hashBytes(h, e.data);
    }
  }
  for (const vma of ip.mapping.i_mmap) {
    h = fnv(fnv(h, vma.pgoff), vma.vm_flags);
    for (const [pg, pte] of vma.ptes) h = fnv(fnv(fnv(h, pg), pte.pfn), +pte.writable + (pte.page ? 4 : 0));
  }
  for (const sem of [ip.iolock, ip.mmaplock]) {
    h = fnv(h, sem.writer ? sem.writer.pid : 0);
    for (const r of sem.readers) h = fnv(h, r.pid);
    for (const w of sem.waiters) h = fnv(h, w.t.pid + (w.write ? 1 << 20 : 0));
  }
  let s = h.toString(36);
  tasks.forEach((t, i) => (s += `|${t.done ? 'd' : paths[i].toString(36)}`));
  return s;
}

/** Follows a prefix of choices, then the default; records every choice point. */
class ExploreStrategy implements Strategy {
  readonly name = 'explore';
  readonly points: ChoicePoint[] = [];
  last: Task | null = null;
  used = 0;
  hashAt: () => string = () => '';

  constructor(
    private readonly prefix: number[],
    private readonly tasks: Task[],
    private readonly idle: Waitable,
  ) {}

  /** Index of the last task if it could go on (a flipper done with a flip does not count). */
  private busy(idx: number[]): number {
    const last = this.last;
    if (!last) return 0;
    const li = this.tasks.indexOf(last);
    if (!idx.includes(li)) return -1;
    return li !== 0 && last.waiting === this.idle ? -1 : li;
  }

  /** Keep running the current task; otherwise fsx. */
  defaultChoice(idx: number[]): number {
    const b = this.busy(idx);
    if (b >= 0) return b;
    return idx.includes(0) ? 0 : idx[0];
  }

  pick(runnable: Task[], n: number): Task {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) idx.push(this.tasks.indexOf(runnable[i]));
    const i = this.points.length;
    const busy = this.busy(idx);
    let chosen = i < this.prefix.length ? this.prefix[i] : this.defaultChoice(idx);
    if (!idx.includes(chosen)) chosen = this.defaultChoice(idx);
    this.points.push({ runnable: idx, chosen, used: this.used, busy, hash: i >= this.prefix.length ? `${this.hashAt()}|${busy}` : '' });
    if (busy >= 0 && chosen !== busy) this.used++;
    const t = this.tasks[chosen];
    this.last = t;
    return t;
  }
}

interface RunResult {
  points: ChoicePoint[];
  signature: string;
  flips: FlipSpec[];
}

function runOnce(ra: RunArgs, program: Script, o: ExploreOptions, prefix: number[]): RunResult {
  const f = ra.fsx;
  const m = ra.model;
  const mach = buildMachine({ fs: m.fs, kernel: m.kernel, initialDax: m.initialDax, panicOnWarn: m.panicOnWarn, maxFileLen: f.maxfilelen, seed: f.seed, trace: false, hungSteps: m.hungSteps });
  const { k, sched, fsx } = mach;
  const engine = new FsxEngine(f, mach.file, SILENT, 'explore', 'explore.fsxgood');
  engine.setReplay(program.ops);
  engine.onOpStart = (n) => sched.startOp(n);
  const flipper = flipperTaskFor(0);
  const tasks = [fsx, flipper];
  const idle = new Idle();
  const strategy = new ExploreStrategy(prefix, tasks, idle);
  sched.strategy = strategy;
  sched.noSolo = true;
  sched.posTask = fsx;
  // a path hash per task: where it is in its own code
  const paths = [0x811c9dc5, 0x811c9dc5];
  const baseTick = sched.tick.bind(sched);
  sched.tick = () => {
    const cur = sched.current;
    if (cur) {
      const i = cur === fsx ? 0 : 1;
      const top = cur.stack[cur.stack.length - 1] ?? '';
      let h = fnv(paths[i], cur.stack.length);
      for (let c = 0; c < top.length; c++) h = fnv(h, top.charCodeAt(c));
      paths[i] = h;
    }
    return baseTick();
  };
  strategy.hashAt = () => stateHash(k, tasks, paths, engine);
  k.observer = (t, v) => {
    const who = t ?? sched.current;
    const i = who === fsx ? 0 : 1;
    paths[i] = fnv(fnv(paths[i], 0x5eed), v);
  };
  const flips: FlipSpec[] = [];
  let open: FlipSpec | null = null;
  const prevPick = strategy.pick.bind(strategy);
  strategy.pick = (runnable, n) => {
    const t = prevPick(runnable, n);
    if (t === flipper && flipper.waiting === idle && !open) {
      open = { op: sched.posOp, tick: sched.posTick, choices: '' };
      flips.push(open);
    }
    if (open) open.choices += t === fsx ? 'f' : '0';
    return t;
  };
  sched.add(
    fsx,
    (function* () {
      yield* mach.file.open({ direct: f.oDirect });
      yield* engine.init();
      yield* engine.run();
    })(),
  );
  sched.add(
    flipper,
    (function* () {
      for (let i = 0; i < o.maxFlips; i++) {
        yield idle;
        // started without a choice (fsx could not run): anchored here, with no choice to record
        if (!open) {
          open = { op: sched.posOp, tick: sched.posTick, choices: '' };
          flips.push(open);
        }
        yield* flipOnce(k, flipper);
        open = null;
      }
    })(),
  );
  let signature = '';
  try {
    sched.run(fsx, o.maxSteps);
  } catch (e) {
    const c = classify(e);
    if (!c) throw e;
    signature = c.signature;
  }
  return { points: strategy.points, signature, flips };
}

export function explore(ra: RunArgs, program: Script, o: ExploreOptions): ExploreResult {
  const t0 = performance.now();
  const seen = new Map<string, number>(); // state -> most preemption budget left when it was reached
  const failures = new Map<string, ExploreFailure>();
  const stack: number[][] = [[]];
  let interleavings = 0;
  let exhausted = true;
  while (stack.length) {
    if (performance.now() - t0 > o.budgetMs) {
      exhausted = false;
      break;
    }
    const prefix = stack.pop()!;
    const r = runOnce(ra, program, o, prefix);
    interleavings++;
    if (r.signature) {
      const f = failures.get(r.signature);
      if (f) f.count++;
      else failures.set(r.signature, { count: 1, script: { args: program.args, ops: program.ops, flips: r.flips } });
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
