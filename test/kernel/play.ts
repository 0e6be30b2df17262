import type { DesignName } from '../../src/kernel/designs.js';
import type { Kernel } from '../../src/kernel/core.js';
import { addBackgroundTasks, buildMachine, flipperTaskFor, type Machine } from '../../src/kernel/machine.js';
import { flipperTask } from '../../src/kernel/syscalls.js';
import { FsxEngine, type FsxOutput } from '../../src/fsx/engine.js';
import { defaultFsxOptions, type FsxOptions } from '../../src/fsx/options.js';
import { PlanStrategy, type PlanStep } from '../../src/sched/plan.js';
import { RandomStrategy } from '../../src/sched/random.js';
import { makePrng } from '../../src/sched/strategy.js';
import type { Task } from '../../src/sched/task.js';
import type { Mapping } from '../../src/fsx/file.js';

/**
 * Drivers for the kernel tests: a hand-built interleaving (a plan) of the
 * fsx task's system calls against one other task, and a whole fsx run
 * against the flipper and background tasks, in memory.
 */

export type Body = (m: Machine) => Generator<unknown, void, unknown>;
export type Other = (m: Machine, t: Task) => Generator<unknown, unknown, unknown>;

export interface Setup {
  fs?: 'xfs' | 'ext4';
  kernel?: DesignName;
  initialDax?: boolean;
  panicOnWarn?: boolean;
  mount?: string;
  maxFileLen?: number;
}

/** Run `fsxBody` (after opening the file) and `other` (the flipper task, by default one chattr toggling DAX to `flipTo`) under a plan. */
export function play(setup: Setup, fsxBody: Body, other: Other, script: (m: Machine, t: Task) => PlanStep[]): { m: Machine; error: unknown; other: Task } {
  const m = buildMachine({ ...setup, trace: true });
  const t = flipperTaskFor(0);
  m.sched.strategy = new PlanStrategy(script(m, t), [m.fsx, t]);
  m.sched.add(
    m.fsx,
    (function* () {
      yield* m.file.open({ direct: false });
      yield* fsxBody(m);
    })(),
  );
  m.sched.add(
    t,
    (function* () {
      yield* other(m, t);
    })(),
  );
  let error: unknown = null;
  try {
    m.sched.run(m.fsx);
  } catch (e) {
    error = e;
  }
  return { m, error, other: t };
}

/** The flipper's one chattr: FS_XFLAG_DAX on XFS and ext4 5.8+, the journal flag on ext4 before 5.8. */
export const chattr =
  (dax: boolean): Other =>
  (m, t) =>
    m.k.fs.chattr(m.k, t, dax);

/** fsx alone: the body runs with no other task. */
export function solo(setup: Setup, body: Body): { m: Machine; error: unknown } {
  return play(setup, body, function* () {}, () => []);
}

/** fsx has read IS_DAX() in this function (the trace says so). */
export const readDaxIn =
  (k: Kernel, fn: string, after = 0) =>
  (): boolean =>
    k.trace.since(after).some((e) => e.kind === 'isdax' && e.pid === 6052 && e.text.endsWith(` in ${fn}`));
export const flipped = (k: Kernel) => (): boolean => k.flips > 0;
export const traced = (k: Kernel, pid: number, re: RegExp) => (): boolean => k.trace.since(0).some((e) => e.pid === pid && re.test(e.text));
export const filled = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

/**
 * ext4 4.13's store through an old DAX VMA beneath a cached page: write a
 * page, map it and store into it (a DAX mapping), write the page again
 * (after chattr +j cleared S_DAX this caches it), store again through the
 * old VMA, unmap, and read the first 16 bytes back into `got`.
 */
export function* ext4OldVmaStore(m: Machine, got: Uint8Array): Generator<unknown, void, unknown> {
  const f = m.file;
  yield* f.pwrite(filled(4096, 1), 0, 4096, 0, 0);
  const map = (yield* f.mmap(0, 4096, true)) as Mapping;
  yield* f.mapWrite(map, 0, filled(16, 5), 0, 16);
  yield* f.pwrite(filled(4096, 2), 0, 4096, 0, 0);
  yield* f.mapWrite(map, 0, filled(16, 9), 0, 16);
  yield* f.munmap(map);
  yield* f.pread(got, 0, 16, 0, 0);
}
/** Frames fsx entered, from the trace. */
export const framesSeen = (k: Kernel, pid = 6052): string[] => [...new Set(k.trace.since(0).filter((e) => e.pid === pid).flatMap((e) => e.stack.split(' > ')))];

const SILENT: FsxOutput = { prt: () => {}, warn: () => {}, writeOps: () => null, writeGood: () => {} };

export interface FsxRun {
  m: Machine;
  engine: FsxEngine;
  /** Whatever ended the run: null when fsx finished its ops. */
  error: unknown;
}

export interface FsxRunSetup extends Setup {
  seed: number;
  numops: number;
  fsx?: Partial<FsxOptions>;
  flip?: boolean;
  flipInterval?: number;
  closeOpenDrop?: number;
  dropCaches?: number;
  dropCachesInterval?: number;
  writeback?: number;
}

/** A whole fsx run in memory: fsx, the flipper (unless flip is false), background tasks, the seeded random scheduler. */
export function runFsxModel(s: FsxRunSetup): FsxRun {
  const maxFileLen = s.fsx?.maxfilelen ?? s.maxFileLen ?? 256 * 1024;
  const m = buildMachine({ ...s, maxFileLen, trace: false, closeOpenDrop: s.closeOpenDrop ?? 3 });
  const o: FsxOptions = { ...defaultFsxOptions(), quiet: true, seed: s.seed, numops: s.numops, maxfilelen: maxFileLen, atomicWrites: false, ...s.fsx };
  const engine = new FsxEngine(o, m.file, SILENT, 'f', 'f.fsxgood');
  m.sched.add(
    m.fsx,
    (function* () {
      yield* m.file.open({ direct: o.oDirect });
      yield* engine.init();
      yield* engine.run();
    })(),
  );
  if (s.flip !== false) {
    const t = flipperTaskFor(0);
    m.sched.add(t, flipperTask(m.k, t, makePrng(s.seed, 'flipper0'), s.flipInterval ?? 200, m.sched, { ok: 0, busy: 0 }));
  }
  addBackgroundTasks(m, s.seed, { dropCaches: s.dropCaches ?? 0, dropCachesInterval: s.dropCachesInterval ?? 5000, writeback: s.writeback ?? 0 });
  m.sched.strategy = new RandomStrategy(makePrng(s.seed, 'sched'));
  let error: unknown = null;
  try {
    m.sched.run(m.fsx);
  } catch (e) {
    error = e;
  }
  return { m, engine, error };
}

/** fsx's body next to other tasks (added by `extra`) under the seeded random scheduler. */
export function withTasks(setup: Setup & { seed?: number }, body: Body, extra: (m: Machine) => void): { m: Machine; error: unknown } {
  const m = buildMachine({ ...setup, trace: true });
  m.sched.add(
    m.fsx,
    (function* () {
      yield* m.file.open({ direct: false });
      yield* body(m);
    })(),
  );
  extra(m);
  m.sched.strategy = new RandomStrategy(makePrng(setup.seed ?? 1, 'sched'));
  let error: unknown = null;
  try {
    m.sched.run(m.fsx);
  } catch (e) {
    error = e;
  }
  return { m, error };
}
