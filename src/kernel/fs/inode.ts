import type { Task } from '../../sched/task.js';
import { DaxEntry, Page, type Gen, type Kernel } from '../core.js';
import { V5_11, V5_8 } from '../designs.js';
import { CondWait } from '../locks.js';
import { invalidate_mapping_pages, truncate_inode_pages_final } from '../mm/truncate.js';
import { inode_wait_for_writeback, write_inode_now } from './fs-writeback.js';

/**
 * fs/inode.c as the test file's inode needs it: finding it (and loading it
 * from disk when it was evicted: S_DAX is set there, by the file system's
 * own rules, see FsType.loadDax), the last iput, eviction, and the inode
 * LRU that drop_caches prunes.
 */

const F_LOAD = (dax: boolean): string => `inode loaded from disk: S_DAX=${dax ? 1 : 0}`;
const F_EVICT = (dirty: number): string => `inode evicted${dirty ? `: ${dirty} dirty page(s) discarded without writeback` : ''}`;
const F_LRU = (): string => 'iput_final(): the inode stays cached on the LRU';
const F_WB = (): string => 'iput_final(): I_DONTCACHE, written back before eviction';

/** Whether the inode has dirty pages or dirty DAX entries (I_DIRTY_PAGES). */
export function inodeDirty(k: Kernel): boolean {
  for (const e of k.inode.mapping.entries.values()) if ((e instanceof Page || e instanceof DaxEntry) && e.dirty) return true;
  return false;
}

/** Dirty page-cache pages, for the trace of an eviction. */
function dirtyPages(k: Kernel): number {
  let n = 0;
  for (const e of k.inode.mapping.entries.values()) if (e instanceof Page && e.dirty) n++;
  return n;
}

/**
 * iget (xfs_iget / ext4_iget via the lookup): the in-memory inode, or a
 * new one loaded from disk if it was evicted. An inode being evicted
 * (I_FREEING, I_WILL_FREE) is waited for, then loaded anew
 * (find_inode's __wait_on_freeing_inode).
 */
export function* iget(k: Kernel, t: Task): Gen<void> {
  if (k.tick()) yield;
  const ip = k.inode;
  if (ip.freeing || ip.willFree) {
    const w = new CondWait(() => !ip.freeing && !ip.willFree, 'the inode being evicted (I_FREEING)');
    t.enter('__wait_on_freeing_inode');
    while (ip.freeing || ip.willFree) yield w;
    t.leave();
  }
  if (ip.evicted) {
    ip.evicted = false;
    ip.dontcache = false;
    const before = ip.sDax;
    ip.sDax = k.fs.loadDax(k);
    ip.loads++;
    if (k.trace.enabled) k.trace.add(t, 'note', F_LOAD, ip.sDax);
    if (before !== ip.sDax && k.onFlag) k.onFlag(t, 'reload', ip.diskDax, before, ip.sDax, 'inode load');
  }
  ip.onLru = false;
  ip.refs++;
}

/**
 * iput(): drop a reference; the last one goes to iput_final. The
 * decrement and iput_final's decision are one step (atomic_dec_and_lock
 * under i_lock, which the dentry killing us also held): no lookup can grab
 * the inode in between.
 */
export function* iput(k: Kernel, t: Task): Gen<void> {
  t.enter('iput');
  try {
    const ip = k.inode;
    if (--ip.refs > 0) {
      if (k.tick()) yield;
      return;
    }
    yield* iput_final(k, t);
  } finally {
    t.leave();
  }
}

/**
 * generic_drop_inode() as XFS and ext4 call it from ->drop_inode: the
 * file is linked and hashed, so only I_DONTCACHE can ask for the drop,
 * and only in 5.8-5.10 (dae2f8ed7992 put it there; 88149082bb8e moved it
 * to iput_final in 5.11).
 */
function generic_drop_inode(k: Kernel): boolean {
  return k.v >= V5_8 && k.v < V5_11 && k.inode.dontcache;
}

/**
 * iput_final(). An inode not to be dropped goes on the LRU and stays
 * cached. 5.8: I_DONTCACHE makes ->drop_inode say drop, and a dropped
 * inode goes straight to evict(), whose truncate_inode_pages_final()
 * discards dirty page-cache data. 5.11: I_DONTCACHE keeps it off the LRU
 * instead, so it takes the !drop path: I_WILL_FREE, write_inode_now(inode,
 * 1), then evict().
 */
function* iput_final(k: Kernel, t: Task): Gen<void> {
  t.enter('iput_final');
  try {
    const ip = k.inode;
    const drop = generic_drop_inode(k);
    if (!drop && !(k.v >= V5_11 && ip.dontcache)) {
      ip.onLru = true; // inode_add_lru()
      if (k.trace.enabled) k.trace.add(t, 'note', F_LRU);
      return;
    }
    if (!drop) {
      ip.willFree = true;
      if (k.trace.enabled) k.trace.add(t, 'note', F_WB);
      yield* write_inode_now(k, t);
      ip.willFree = false;
    }
    ip.freeing = true;
    ip.onLru = false;
    yield* evict(k, t);
  } finally {
    t.leave();
  }
}

/**
 * evict(): wait for writeback in flight (inode_wait_for_writeback), then
 * ->evict_inode, which for a linked file is truncate_inode_pages_final():
 * every page and DAX entry goes, dirty or not. The inode is gone; the next
 * iget loads it from disk.
 */
export function* evict(k: Kernel, t: Task): Gen<void> {
  t.enter('evict');
  try {
    const ip = k.inode;
    yield* inode_wait_for_writeback(k, t);
    t.enter(k.fs.name === 'xfs' ? 'xfs_fs_evict_inode' : 'ext4_evict_inode');
    const lost = dirtyPages(k);
    truncate_inode_pages_final(k, t);
    t.leave();
    ip.evicted = true;
    ip.freeing = false;
    ip.dontcache = false;
    if (k.trace.enabled) k.trace.add(t, 'note', F_EVICT, lost);
  } finally {
    t.leave();
  }
}

/**
 * prune_icache_sb() as drop_caches runs it (inode_lru_isolate): an unused
 * inode on the LRU is evicted unless it is dirty or under writeback; one
 * with pages first has its clean pages invalidated (with a reference held
 * meanwhile) and is tried again.
 */
export function* prune_icache_sb(k: Kernel, t: Task): Gen<void> {
  t.enter('prune_icache_sb');
  try {
    const ip = k.inode;
    for (let pass = 0; pass < 2; pass++) {
      if (k.tick()) yield;
      if (!ip.onLru || ip.refs > 0 || ip.evicted || ip.freeing || ip.willFree) return;
      if (ip.sync || inodeDirty(k)) {
        ip.onLru = false; // still in use: off the LRU until it is clean
        return;
      }
      if (ip.mapping.nrpages > 0) {
        ip.refs++; // __iget
        yield* invalidate_mapping_pages(k, t, 0, ip.nblocks);
        yield* iput(k, t);
        continue; // LRU_RETRY
      }
      ip.freeing = true;
      ip.onLru = false;
      yield* evict(k, t);
      return;
    }
  } finally {
    t.leave();
  }
}
