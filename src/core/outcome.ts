import { FsxExit, ReplayDiverged } from '../fsx/engine.js';
import { KernelPanic, type Kernel } from '../kernel/core.js';
import { FaultLoop } from '../kernel/mm/memory.js';
import { DAX_STATE_EXIT, DAX_STATE_SIGNATURE, DAX_STATE_VERDICT, DaxStateMismatch } from '../kernel/sdaxcheck.js';
import { HungTask } from '../sched/scheduler.js';
import type { RunConfig } from './config.js';

/** A task as reports name it. */
export interface TaskRef {
  comm: string;
  pid: number;
}

/**
 * How a run ended: one union, made by `classify` alone, read by every
 * command and reporter (fast-check's `Failure | Interrupted | Success`).
 */
export type Outcome =
  | { kind: 'clean' }
  /** One of fsx's own checks failed (READ BAD DATA, size error, ...): `status` is fsx's exit. */
  | { kind: 'fsx'; check: string; status: number }
  /** The kernel oopsed, hit a BUG(), or a WARN_ON with panic_on_warn. */
  | { kind: 'kernel'; level: 'oops' | 'bug' | 'warning'; func: string; task: TaskRef; frames: readonly string[] }
  /**
   * A task made no progress: every task blocked (deadlock), one blocked past
   * the bound (blocked), or a fault retried from user space forever (no-progress).
   */
  | { kind: 'hung'; how: 'deadlock' | 'blocked' | 'no-progress'; where: string; task: TaskRef; frames: readonly string[]; locks: readonly string[] }
  /**
   * A check beyond fsx (xfstests generic/608): after a reopen, statx's DAX
   * attribute disagrees with the flag the file was free to be evicted with.
   */
  | { kind: 'sdax'; message: string; task: TaskRef }
  /** An exact replay met an op line its recorded config does not produce. */
  | { kind: 'diverged'; message: string }
  /** A signal stopped the run (SIGINT 2, SIGTERM 15). */
  | { kind: 'interrupted'; signal: number };

/** daxfsx's own exit codes for the model's verdicts (fsx's codes stay fsx's). */
export const EXIT = {
  OK: 0,
  OOPS: 50,
  HUNG: 51,
  WARNING: 52,
  SDAX: DAX_STATE_EXIT,
  USAGE: 90,
  CREATE: 91,
  GOOD_FILE: 92,
  FILE: 93,
  OUTPUT: 94,
  REPLAY: 100,
} as const;

/** The exit code of an outcome: one table for every command. */
export function exitCode(o: Outcome): number {
  switch (o.kind) {
    case 'clean':
      return EXIT.OK;
    case 'fsx':
      return o.status;
    case 'kernel':
      return o.level === 'warning' ? EXIT.WARNING : EXIT.OOPS;
    case 'hung':
      return EXIT.HUNG;
    case 'sdax':
      return EXIT.SDAX;
    case 'diverged':
      return EXIT.REPLAY;
    case 'interrupted':
      return o.signal;
  }
}

/** The verdict in one word or check name: ok, oops, bug, warning, hung, READ BAD DATA, ... */
export function verdict(o: Outcome): string {
  switch (o.kind) {
    case 'clean':
      return 'ok';
    case 'fsx':
      return o.check;
    case 'kernel':
      return o.level;
    case 'hung':
      return 'hung';
    case 'sdax':
      return DAX_STATE_VERDICT;
    case 'diverged':
      return 'replay diverged';
    case 'interrupted':
      return 'interrupted';
  }
}

/**
 * What tells one failure from another, the same text in a run, a sweep, a
 * scenario, a shrink and explore: the failing function, fsx's check, or
 * where a task hung; '' for a clean run.
 */
export function signature(o: Outcome): string {
  switch (o.kind) {
    case 'clean':
      return '';
    case 'fsx':
      return o.check;
    case 'kernel':
      return o.func;
    case 'hung':
      return o.how === 'no-progress' ? `no progress in ${o.where}` : `${o.how} in ${o.where}`;
    case 'sdax':
      return DAX_STATE_SIGNATURE;
    case 'diverged':
      return 'replay diverged';
    case 'interrupted':
      return 'interrupted';
  }
}

/** "oops in iomap_page_mkwrite", "READ BAD DATA", "hung: deadlock in xfs_ilock". */
export function headline(o: Outcome): string {
  return headlineOf(verdict(o), signature(o));
}

/** The headline from a record's verdict and signature: never "X in X" when fsx's check is both. */
export function headlineOf(verdict: string, signature: string): string {
  return !signature || signature === verdict ? verdict : verdict === 'hung' ? `${verdict}: ${signature}` : `${verdict} in ${signature}`;
}

/** A failure that is the model's or fsx's verdict on the design (not a replay problem or a signal). */
export function isFailure(o: Outcome): boolean {
  return o.kind === 'fsx' || o.kind === 'kernel' || o.kind === 'hung' || o.kind === 'sdax';
}

/** The locks of the inode, in words: who holds each and who waits (for a hung task's report). */
export function lockState(k: Kernel): string[] {
  const out: string[] = [];
  for (const sem of [k.inode.iolock, k.inode.mmaplock]) {
    if (sem.writer) out.push(`${sem.writer.comm}/${sem.writer.pid} holds ${sem.name} for write`);
    for (const r of sem.readers) out.push(`${r.comm}/${r.pid} holds ${sem.name} for read`);
    for (const w of sem.waiters) out.push(`${w.t.comm}/${w.t.pid} waits for ${sem.name} (${w.write ? 'write' : 'read'})`);
  }
  return out;
}

const ref = (t: TaskRef): TaskRef => ({ comm: t.comm, pid: t.pid });

/**
 * The one classifier: what ended a run (whatever a task threw) as an
 * Outcome; null for anything else (a bug in daxfsx, which must propagate).
 */
export function classify(e: unknown, k: Kernel): Outcome | null {
  if (e instanceof FsxExit) return { kind: 'fsx', check: e.check, status: e.status };
  if (e instanceof KernelPanic) return { kind: 'kernel', level: e.kind, func: e.func, task: ref(e.task), frames: e.frames.slice() };
  if (e instanceof HungTask) {
    const st = e.task.stack;
    return { kind: 'hung', how: e.deadlock ? 'deadlock' : 'blocked', where: st[st.length - 2] ?? 'down', task: ref(e.task), frames: st.slice(), locks: lockState(k) };
  }
  if (e instanceof FaultLoop) {
    return { kind: 'hung', how: 'no-progress', where: e.frames[e.frames.length - 1] ?? 'handle_mm_fault', task: ref(e.task), frames: e.frames.slice(), locks: lockState(k) };
  }
  if (e instanceof DaxStateMismatch) return { kind: 'sdax', message: e.message, task: ref(e.task) };
  if (e instanceof ReplayDiverged) return { kind: 'diverged', message: e.message };
  return null;
}

/**
 * One run as a record: the same fields in a run's --summary, a sweep's
 * NDJSON, a scenario's results and explore's report. No wall-clock time,
 * so records are the same on every machine.
 */
export interface RunRecord {
  seed: number;
  fs: string;
  kernel: string;
  verdict: string;
  signature: string;
  exitCode: number;
  ops: number;
  steps: number;
  flips: number;
}

export function runRecord(config: RunConfig, o: Outcome, counts: { ops: number; steps: number; flips: number }): RunRecord {
  return { seed: config.fsx.seed, fs: config.model.fs, kernel: config.model.kernel.name, verdict: verdict(o), signature: signature(o), exitCode: exitCode(o), ...counts };
}
