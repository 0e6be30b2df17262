import { DONE, preempted, type Gen } from '../sched/task.js';
import type { Task, Waitable } from '../sched/task.js';
import type { Trace } from './trace.js';

/** Where the model reports each access of a shared object (explore's recorder; the objects are OBJ in access.ts). */
export interface AccessSink {
  note(obj: number, write: boolean): void;
  /** Task t took (`take`) or let go of a lock (an rw_semaphore, OBJ bit `obj`), for read or write: not an access of data (explore/reduction.ts, lazy locks). */
  lock?(obj: number, take: boolean, write: boolean, t: Task): void;
}

/** What the lock paths need of the kernel: its trace and its preemption points. */
export interface LockCtx {
  readonly trace: Trace;
  tick(): boolean;
}

const F_WAIT = (name: string, write: boolean, holder: string): string => `waits for ${name} (${write ? 'write' : 'read'}), ${holder}`;
const F_TAKE = (name: string, write: boolean): string => `takes ${name} (${write ? 'write' : 'read'})`;
const F_RELEASE = (name: string, write: boolean): string => `releases ${name} (${write ? 'write' : 'read'})`;

interface Waiter {
  t: Task;
  write: boolean;
}

/**
 * A reader-writer semaphore with FIFO waiters (rw_semaphore): a task that
 * cannot have it queues, and is granted it in arrival order; readers at the
 * head of the queue go in together.
 */
export class RwSem implements Waitable {
  readonly readers: Task[] = [];
  writer: Task | null = null;
  readonly waiters: Waiter[] = [];
  /** Explore's recorder and this lock's object (kernel/access.ts installs them; a plain run has none). */
  rec: AccessSink | null = null;
  bit = 0;

  constructor(readonly name: string) {}

  private grantable(t: Task, write: boolean): boolean {
    if (this.writer) return false;
    if (write) return this.readers.length === 0 && (this.waiters.length === 0 || this.waiters[0].t === t);
    for (const w of this.waiters) {
      if (w.t === t) return true;
      if (w.write) return false;
    }
    return true;
  }

  ready(t: Task): boolean {
    this.rec?.note(this.bit, true);
    const w = this.waiters.find((x) => x.t === t);
    return w ? this.grantable(t, w.write) : true;
  }

  describe(t: Task): string {
    const w = this.waiters.find((x) => x.t === t);
    return `${this.name} (${w?.write ? 'write' : 'read'}), ${this.holderText(t)}`;
  }

  /** Who keeps t from the lock: its holders, or, when nobody holds it, the waiters queued ahead of t (FIFO). */
  holderText(t: Task): string {
    if (this.writer) return `held for write by ${this.writer}`;
    if (this.readers.length) return `held for read by ${this.readers.join(', ')}`;
    const ahead: string[] = [];
    for (const w of this.waiters) {
      if (w.t === t) break;
      ahead.push(`${w.t} (${w.write ? 'write' : 'read'})`);
    }
    return ahead.length ? `held by nobody, but ${ahead.join(', ')} queued first` : 'held by nobody';
  }

  heldBy(t: Task): boolean {
    return this.writer === t || this.readers.includes(t);
  }
}

/** rwsem's fast path (4.13 __down_read / __down_write, kernel/locking/rwsem.c): free and nobody queued ahead. */
function uncontended(sem: RwSem, write: boolean): boolean {
  sem.rec?.note(sem.bit, false);
  return sem.waiters.length === 0 && (write ? !sem.writer && sem.readers.length === 0 : !sem.writer);
}

/**
 * down_read()/down_write() (kernel/locking/rwsem.c, 4.13): a preemption
 * point, then the lock, queueing behind its holders and waiters. Taken with
 * no generator when no preemption falls here and the lock is free.
 */
function acquire(k: LockCtx, t: Task, sem: RwSem, write: boolean, frame: string | undefined): Gen<void> {
  // the caller's frame (xfs_ilock, inode_lock, ...) for call traces, without a generator of its own
  if (frame) t.enter(frame);
  if (k.tick()) return acquireAfterPreemption(k, t, sem, write, frame); // preemption point: taking a lock
  if (!uncontended(sem, write)) return acquireSlow(k, t, sem, write, frame);
  take(k, t, sem, write, frame);
  return DONE;
}

/** down_read()/down_write() (kernel/locking/rwsem.c, 4.13) preempted at might_sleep(): the rest once the task runs again. */
function* acquireAfterPreemption(k: LockCtx, t: Task, sem: RwSem, write: boolean, frame: string | undefined): Gen<void> {
  yield;
  if (!uncontended(sem, write)) yield* acquireSlow(k, t, sem, write, frame);
  else take(k, t, sem, write, frame);
}

/** rwsem_down_read_failed / rwsem_down_write_failed (kernel/locking/rwsem-xadd.c, 4.13): queue, sleep until granted in order. */
function* acquireSlow(k: LockCtx, t: Task, sem: RwSem, write: boolean, frame: string | undefined): Gen<void> {
  const tr = k.trace;
  sem.rec?.note(sem.bit, true);
  sem.waiters.push({ t, write });
  if (tr.enabled) tr.add(t, 'lock', F_WAIT, sem.name, write, sem.holderText(t));
  t.enter(write ? 'down_write' : 'down_read');
  while (!sem.ready(t)) yield sem;
  t.leave();
  sem.rec?.note(sem.bit, true);
  sem.waiters.splice(
    sem.waiters.findIndex((w) => w.t === t),
    1,
  );
  take(k, t, sem, write, frame);
}

/** The lock is t's (rwsem's owner and count, 4.13): note it, and leave the caller's frame. */
function take(k: LockCtx, t: Task, sem: RwSem, write: boolean, frame: string | undefined): void {
  if (write) sem.writer = t;
  else sem.readers.push(t);
  sem.rec?.lock?.(sem.bit, true, write, t);
  if (k.trace.enabled) k.trace.add(t, 'lock', F_TAKE, sem.name, write);
  if (frame) t.leave();
}

/** down_read(); `frame` is the lock helper calling it, shown in call traces while it waits. */
export function down_read(k: LockCtx, t: Task, sem: RwSem, frame?: string): Gen<void> {
  return acquire(k, t, sem, false, frame);
}

/** down_write(). */
export function down_write(k: LockCtx, t: Task, sem: RwSem, frame?: string): Gen<void> {
  return acquire(k, t, sem, true, frame);
}

/** up_read() (kernel/locking/rwsem.c, 4.13): a preemption point after it, where a waiter can take the lock. */
export function up_read(k: LockCtx, t: Task, sem: RwSem): Gen<void> {
  const tr = k.trace;
  const i = sem.readers.indexOf(t);
  if (i < 0) throw new Error(`${t} releases ${sem.name} (read) it does not hold`);
  sem.readers.splice(i, 1);
  sem.rec?.lock?.(sem.bit, false, false, t);
  if (tr.enabled) tr.add(t, 'lock', F_RELEASE, sem.name, false);
  return k.tick() ? preempted() : DONE; // preemption point: after a release another task may take it
}

/** up_write() (kernel/locking/rwsem.c, 4.13). */
export function up_write(k: LockCtx, t: Task, sem: RwSem): Gen<void> {
  const tr = k.trace;
  if (sem.writer !== t) throw new Error(`${t} releases ${sem.name} (write) it does not hold`);
  sem.writer = null;
  sem.rec?.lock?.(sem.bit, false, true, t);
  if (tr.enabled) tr.add(t, 'lock', F_RELEASE, sem.name, true);
  return k.tick() ? preempted() : DONE;
}

/**
 * down_read()/down_write() of fsx's mm->mmap_sem (4.13 __do_page_fault,
 * vm_mmap_pgoff, vm_munmap): only fsx takes it unless a design's flip
 * updates VMAs, so when nobody else holds it, it is taken with no
 * preemption point and no trace line (runs where fsx alone takes it are
 * scheduled exactly as before it was modelled); a task that finds it held
 * waits as on any rw_semaphore.
 */
export function down_quiet(k: LockCtx, t: Task, sem: RwSem, write: boolean): Gen<void> {
  if (!uncontended(sem, write)) return acquireSlow(k, t, sem, write, undefined);
  if (write) sem.writer = t;
  else sem.readers.push(t);
  sem.rec?.lock?.(sem.bit, true, write, t);
  return DONE;
}

/** up_read()/up_write() of down_quiet's lock: no preemption point of its own (a waiter runs at the next one). */
export function up_quiet(t: Task, sem: RwSem, write: boolean): void {
  if (write) {
    if (sem.writer !== t) throw new Error(`${t} releases ${sem.name} (write) it does not hold`);
    sem.writer = null;
  } else {
    const i = sem.readers.indexOf(t);
    if (i < 0) throw new Error(`${t} releases ${sem.name} (read) it does not hold`);
    sem.readers.splice(i, 1);
  }
  sem.rec?.lock?.(sem.bit, false, write, t);
}

/** The page lock (PG_locked): a sleeping mutex on one page. */
export interface PageLockable {
  locker: Task | null;
}

export class PageLockWait implements Waitable {
  constructor(readonly page: PageLockable, readonly name: string) {}
  ready(): boolean {
    return this.page.locker === null;
  }
  describe(): string {
    return `lock on ${this.name}, held by ${this.page.locker}`;
  }
}

/** lock_page() (include/linux/pagemap.h, 4.13; __lock_page when it has to sleep): taken with no generator when no preemption falls here and the page is unlocked. */
export function lock_page_raw(k: LockCtx, t: Task, page: PageLockable, name: string): Gen<void> {
  if (k.tick()) return lockPageAfterPreemption(t, page, name);
  if (page.locker !== null) return lockPageSlow(t, page, name);
  page.locker = t;
  return DONE;
}

/** lock_page() (include/linux/pagemap.h, 4.13) preempted at might_sleep(): the rest once the task runs again. */
function* lockPageAfterPreemption(t: Task, page: PageLockable, name: string): Gen<void> {
  yield;
  if (page.locker !== null) yield* lockPageSlow(t, page, name);
  else page.locker = t;
}

/** __lock_page() (mm/filemap.c, 4.13): sleep on the page's bit until it is unlocked, then take it. */
function* lockPageSlow(t: Task, page: PageLockable, name: string): Gen<void> {
  const w = new PageLockWait(page, name);
  t.enter('__lock_page');
  while (page.locker !== null) yield w;
  t.leave();
  page.locker = t;
}

/** unlock_page(). */
export function unlock_page_raw(page: PageLockable): void {
  page.locker = null;
}

/** Sleeping until something another task does makes `ready()` true (a bit wait, an inode state). */
export class CondWait implements Waitable {
  constructor(
    readonly ready: () => boolean,
    private readonly what: string,
  ) {}
  describe(): string {
    return this.what;
  }
}

/** Wait for a locked page or DAX entry to be unlocked, without taking it (wait_on_page_locked, get_unlocked_mapping_entry). */
export function* wait_unlocked(k: LockCtx, t: Task, obj: PageLockable, name: string, frame: string): Gen<void> {
  if (obj.locker === null || obj.locker === t) return;
  const w = new PageLockWait(obj, name);
  t.enter(frame);
  while (obj.locker !== null) yield w;
  t.leave();
  if (k.tick()) yield;
}
