import { OBJ } from '../kernel/access.js';
import type { StepLog } from './steps.js';
import { WAIT_OTHER } from './steps.js';

const bitIndex = (b: number): number => 31 - Math.clz32(b);

/**
 * Lazy locks' guard against deadlocks. The reduction (reduction.ts) takes
 * two holds of an rw_semaphore by different tasks, with no conflicting
 * access inside them, to be one trace whichever came first: both orders
 * end in the same state. But a deadlock is made by the order of the takes
 * alone, when two tasks nest locks the opposite way round, with nothing
 * else in common. So every run reports how its tasks nested (StepLog.nests:
 * what a task held when it took a lock or waited), and a lock that can be
 * part of a cycle of waits becomes eager: its takes and releases count as
 * writes of it, and every order of its holds is explored, as without lazy
 * locks. A lock M is part of a possible cycle when
 *
 * - a task took or waited for M while holding M (an rw_semaphore taken
 *   twice for read deadlocks behind a queued writer);
 * - a task held M across a take of (or a wait for) L, and another task
 *   held L across a take of M: the ABBA of two locks (L may be a page
 *   lock, OBJ.PAGELOCK, which is always eager itself);
 * - a task held M across a wait for something else (an inode's state), and
 *   another task takes M: it may be the one that would end the wait.
 *
 * A task's nestings are the same in every run that takes it down the same
 * path, and the lazy reduction still runs every path a task can take (a
 * task's path follows from the data it reads, and every order of conflicting
 * accesses is explored), so the nestings of a cycle are all seen, if not in
 * one run. When a lock becomes eager, the exploration starts again
 * (the summary names the eager locks): the runs before were reduced on an
 * independence that did not hold.
 */
export class LockOrder {
  /** Locks whose takes and releases count as writes of them. */
  eager = 0;
  /** Per task and held object (task*32 + bit index): what the task took or waited for while holding it. */
  private readonly across = new Map<number, number>();
  /** Per lock (bit index): the tasks (bit i: task i) that took it. */
  private readonly takers = new Map<number, number>();

  /** @param lazy the locks that may be lazy (the rw_semaphores) */
  constructor(private readonly lazy: number) {}

  /** Learn a run's nestings; true when a lock became eager, and the exploration must start again. */
  learn(log: StepLog): boolean {
    const n = log.nests;
    for (let x = 0; x < n.length; x += 3) {
      const t = n[x];
      for (let m = n[x + 1]; m; m &= m - 1) {
        const key = t * 32 + bitIndex(m & -m);
        this.across.set(key, (this.across.get(key) ?? 0) | n[x + 2]);
      }
    }
    for (let j = 0; j < log.length; j++) {
      for (let m = log.takes[j]; m; m &= m - 1) {
        const b = bitIndex(m & -m);
        this.takers.set(b, (this.takers.get(b) ?? 0) | (1 << log.task[j]));
      }
    }
    let e = this.eager;
    for (const [key, targets] of this.across) {
      const t = key >> 5;
      const M = 1 << (key & 31);
      if (!(M & this.lazy)) continue;
      if (targets & M) e |= M;
      if (targets & WAIT_OTHER && (this.takers.get(key & 31) ?? 0) & ~(1 << t)) e |= M;
      for (let m = targets & (this.lazy | OBJ.PAGELOCK) & ~M; m; m &= m - 1) {
        const L = m & -m;
        for (const [k2, t2] of this.across) {
          if (k2 >> 5 !== t && (k2 & 31) === bitIndex(L) && t2 & M) e |= M | (L & this.lazy);
        }
      }
    }
    const grew = e !== this.eager;
    this.eager = e;
    return grew;
  }
}
