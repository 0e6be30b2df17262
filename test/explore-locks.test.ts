import { describe, expect, it } from 'vitest';
import { exploreRuns, type ExploreOptions, type Runner } from '../src/explore/explore.js';
import { LockOrder } from '../src/explore/lockorder.js';
import { StepLog, WAIT_OTHER } from '../src/explore/steps.js';
import { OBJ, RWSEMS } from '../src/kernel/access.js';
import { IOLOCK, MMAPLOCK, fs_lock, fs_unlock } from '../src/kernel/fs/generic.js';
import { buildMachine, flipperTaskFor, type Machine } from '../src/kernel/machine.js';
import type { Task, Waitable } from '../src/sched/task.js';
import { runAsExplore } from './explore-plan.js';

/**
 * Lazy locks (src/explore/reduction.ts, lockorder.ts): two holds of an
 * rw_semaphore with nothing else in common are explored in one order; a
 * conflict inside them still gets both; locks that nest both ways are
 * explored in every order, so their deadlock is found.
 */

type TaskBody = (m: Machine, t: Task) => Generator<unknown, void, unknown>;

const N = { iolock: 'xfs_ilock', mmaplock: 'xfs_ilock' } as Parameters<typeof fs_lock>[1];

/** Two tasks running `a` and `b` (the run ends when `a` does), under explore's strategy; the outcome also says what `seen` read. */
function twoTasks(a: TaskBody, b: TaskBody, seen: (m: Machine) => string): Runner {
  return (prefix, record, ctl) => {
    const m = buildMachine({ trace: false, hungSteps: 5000 });
    const other = flipperTaskFor(0);
    const idle: Waitable = { ready: () => true, describe: () => 'idle' };
    m.sched.add(m.fsx, a(m, m.fsx));
    m.sched.add(other, b(m, other));
    return runAsExplore(m, [m.fsx, other], idle, prefix, record, ctl, OPTS, () => seen(m));
  };
}

const OPTS: ExploreOptions = { maxFlips: 1, preemptions: 3, maxSteps: 20_000, budgetMs: 60_000, outcomes: true };

/** Take MMAPLOCK for write, run `inside` across a preemption point, let it go; then a preemption point. */
const hold =
  (inside: (m: Machine) => void): TaskBody =>
  function* (m, t) {
    yield* fs_lock(m.k, N, t, MMAPLOCK, true);
    if (m.k.tick()) yield;
    inside(m);
    if (m.k.tick()) yield;
    yield* fs_unlock(m.k, t, MMAPLOCK, true);
    if (m.k.tick()) yield;
  };

const size = (m: Machine): string => `${m.k.inode.i_size}`;

describe('lazy locks', () => {
  it('two holds of one lock with nothing else in common: one order is explored, and the outcomes are those of every order', async () => {
    const runner = twoTasks(
      hold((m) => (m.k.inode.i_size = 4096)),
      hold((m) => (m.k.inode.dontcache = true)),
      (m) => `${size(m)},${m.k.inode.dontcache}`,
    );
    const off = await exploreRuns(runner, { ...OPTS, reduction: false });
    const on = await exploreRuns(runner, OPTS);
    expect(on.exhausted && off.exhausted).toBe(true);
    expect([...on.outcomes!].sort()).toEqual([...off.outcomes!].sort());
    expect(on.reduction.eagerLocks).toEqual([]);
    // the other task's hold before, inside (it waits) or after fsx's are one trace; it may also not run at all
    expect(on.interleavings).toBeLessThan(off.interleavings);
    expect(on.interleavings).toBeLessThanOrEqual(3);
  });

  it('two holds that write the same field: both orders are explored (the race is reversed where the first hold was taken)', async () => {
    const runner = twoTasks(
      hold((m) => (m.k.inode.i_size = 4096)),
      hold((m) => (m.k.inode.i_size = 8192)),
      size,
    );
    const off = await exploreRuns(runner, { ...OPTS, reduction: false });
    const on = await exploreRuns(runner, OPTS);
    expect(on.exhausted && off.exhausted).toBe(true);
    expect([...on.outcomes!].sort()).toEqual([...off.outcomes!].sort());
    // fsx's write last, the other's last
    expect(new Set([...on.outcomes!].map((o) => o.split('|').pop()))).toEqual(new Set(['4096', '8192']));
  });

  it('an ABBA deadlock with nothing else in common is found: the locks nest both ways, so every order of them is explored', async () => {
    const abba =
      (first: number, second: number): TaskBody =>
      function* (m, t) {
        yield* fs_lock(m.k, N, t, first, true);
        if (m.k.tick()) yield;
        yield* fs_lock(m.k, N, t, second, true);
        yield* fs_unlock(m.k, t, second, true);
        yield* fs_unlock(m.k, t, first, true);
      };
    const runner = twoTasks(abba(IOLOCK, MMAPLOCK), abba(MMAPLOCK, IOLOCK), size);
    const off = await exploreRuns(runner, { ...OPTS, reduction: false });
    const on = await exploreRuns(runner, OPTS);
    expect([...off.failures.keys()]).toEqual(['deadlock in xfs_ilock']);
    expect([...on.failures.keys()]).toEqual(['deadlock in xfs_ilock']);
    expect(on.reduction.eagerLocks).toEqual(['IOLOCK', 'MMAPLOCK']);
    expect([...on.outcomes!].sort()).toEqual([...off.outcomes!].sort());
  });
});

describe('LockOrder: which locks can be part of a cycle of waits', () => {
  /** A log with these nestings (task, held, taken or waited for) and these takes (task, lock). */
  const logOf = (nests: number[][], takes: number[][] = []): StepLog => {
    const l = new StepLog();
    for (const n of nests) l.nests.push(...n);
    for (const [t, lock] of takes) {
      l.task.push(t);
      l.takes.push(lock);
    }
    return l;
  };
  const { IOLOCK: IO, MMAPLOCK: MM, MMAPSEM: SEM, PAGELOCK: PAGE } = OBJ;

  it('the same order in both tasks: none', () => {
    const o = new LockOrder(RWSEMS);
    expect(o.learn(logOf([[0, IO, MM], [1, IO, MM], [1, IO | MM, PAGE]]))).toBe(false);
    expect(o.eager).toBe(0);
  });

  it('opposite orders, learnt from two runs: both locks, and the second run says so', () => {
    const o = new LockOrder(RWSEMS);
    expect(o.learn(logOf([[0, SEM, MM]]))).toBe(false);
    expect(o.learn(logOf([[1, MM, SEM]]))).toBe(true);
    expect(o.eager).toBe(SEM | MM);
    expect(o.learn(logOf([[1, MM, SEM]]))).toBe(false);
  });

  it('opposite orders within one task: none (a task does not wait for itself)', () => {
    const o = new LockOrder(RWSEMS);
    o.learn(logOf([[0, SEM, MM], [0, MM, SEM]]));
    expect(o.eager).toBe(0);
  });

  it('a lock taken again while held (read behind a queued writer): that lock', () => {
    const o = new LockOrder(RWSEMS);
    o.learn(logOf([[0, MM | IO, MM]]));
    expect(o.eager).toBe(MM);
  });

  it('a page lock taken under a lock that another task takes while holding a page lock: the lock', () => {
    const o = new LockOrder(RWSEMS);
    o.learn(logOf([[0, MM, PAGE], [1, PAGE, MM]]));
    expect(o.eager).toBe(MM);
  });

  it('a wait for something else under a lock: the lock, once another task takes it', () => {
    const o = new LockOrder(RWSEMS);
    expect(o.learn(logOf([[0, IO, WAIT_OTHER]], [[0, IO]]))).toBe(false);
    expect(o.learn(logOf([], [[1, IO]]))).toBe(true);
    expect(o.eager).toBe(IO);
  });
});
