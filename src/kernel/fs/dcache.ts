import type { Task } from '../../sched/task.js';
import type { Dentry, Gen, Kernel } from '../core.js';
import { V5_11, V5_8 } from '../designs.js';
import { iput } from './inode.js';

/**
 * fs/dcache.c as the test file's dentry needs it: the last dput() decides
 * whether the dentry stays cached (and with it, since it holds the inode,
 * whether the inode can be evicted), and drop_caches prunes unused ones.
 */

const F_KEPT = (): string => 'dput(): last reference gone, fast_dput keeps the dentry (DCACHE_REFERENCED on the LRU): the inode stays in memory';
const F_KILL = (): string => 'dput(): last reference gone, DCACHE_DONTCACHE: the dentry is killed and the inode let go';
const F_FREE = (flag: boolean): string => `the file is free to be evicted (no open file, no mapping); on-disk DAX flag ${flag ? 'set' : 'clear'}`;

/**
 * d_mark_dontcache() (5.8, 2c567af418e3 / dae2f8ed7992): DCACHE_DONTCACHE on
 * the inode's aliases and I_DONTCACHE on the inode.
 */
export function d_mark_dontcache(k: Kernel): void {
  if (k.dentry) k.dentry.dontcache = true;
  k.inode.dontcache = true;
}

/** __dentry_kill(): the dentry leaves the dcache and drops its inode reference (dentry_unlink_inode -> iput). */
function* dentry_kill(k: Kernel, t: Task, d: Dentry): Gen<void> {
  t.enter('__dentry_kill');
  try {
    if (k.dentry === d) k.dentry = null;
    yield* iput(k, t);
  } finally {
    t.leave();
  }
}

/**
 * dput(). fast_dput() drops the count; if it went to zero and the dentry
 * is already on the LRU and referenced it returns at once, keeping the
 * dentry (and the inode) cached; 5.11 (77573fa310d9) adds DCACHE_DONTCACHE
 * to the flags it tests, so such a dentry takes the slow path. The slow
 * path (retain_dentry() from 4.16; inline in 4.13's dput) kills a
 * DCACHE_DONTCACHE dentry (5.8+), and otherwise keeps it on the LRU: 4.13
 * marks it referenced and adds it to the LRU at once, 5.8 adds it to the
 * LRU the first time and marks it referenced the second.
 */
export function* dput(k: Kernel, t: Task, d: Dentry): Gen<void> {
  t.enter('dput');
  try {
    if (k.tick()) yield;
    if (--d.count > 0) return;
    if (k.inode.refs === 1 && !k.inode.evicted) {
      // nothing but the dcache holds the inode now
      k.lastFree = { seq: ++k.freeSeq, flips: k.flips, diskDax: k.inode.diskDax, step: k.clock.step, task: t };
      if (k.trace.enabled) k.trace.add(t, 'note', F_FREE, k.inode.diskDax);
    }
    // fast_dput()
    const referencedOnLru = d.referenced && d.lru && (k.v < V5_11 || !d.dontcache);
    if (referencedOnLru) {
      if (k.trace.enabled && d.dontcache) k.trace.add(t, 'note', F_KEPT);
      return;
    }
    // the slow path
    if (k.v >= V5_8 && d.dontcache) {
      if (k.trace.enabled) k.trace.add(t, 'note', F_KILL);
      yield* dentry_kill(k, t, d);
      return;
    }
    if (k.v < V5_8) {
      d.referenced = true;
      d.lru = true;
    } else if (!d.lru) d.lru = true;
    else d.referenced = true;
  } finally {
    t.leave();
  }
}

/** prune_dcache_sb() as drop_caches runs it: every unused dentry goes (a referenced one after a second pass of the LRU walk). */
export function* prune_dcache_sb(k: Kernel, t: Task): Gen<void> {
  t.enter('prune_dcache_sb');
  try {
    if (k.tick()) yield;
    const d = k.dentry;
    if (d && d.count === 0) yield* dentry_kill(k, t, d);
  } finally {
    t.leave();
  }
}
