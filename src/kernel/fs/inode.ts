import type { Gen } from '../../sched/task.js';
import type { Task, Waitable } from '../../sched/task.js';
import { DaxEntry, Kernel, Page } from '../core.js';
import { delete_from_page_cache, filemap_write_and_wait } from '../mm/filemap.js';
import { F_DATA } from '../trace.js';

const F_LOAD = (dax: boolean): string => `inode loaded from disk: S_DAX=${dax ? 1 : 0} from the on-disk flag`;
const F_EVICT = (): string => 'inode evicted (last reference gone)';
const F_DROP = (): string => 'drop_caches evicted the inode';


/**
 * iget(): find the inode, loading it from disk if it was evicted. Loading
 * sets S_DAX from the on-disk flag (xfs_diflags_to_linux at inode set-up).
 */
/** Waiting for an inode being evicted to be gone (find_inode's __wait_on_freeing_inode). */
class FreeingWait implements Waitable {
  constructor(private readonly k: Kernel) {}
  ready(): boolean {
    return !this.k.inode.freeing;
  }
  describe(): string {
    return 'the inode being evicted (I_FREEING)';
  }
}

export function* iget(k: Kernel, t: Task): Gen<void> {
  if (k.tick()) yield;
  const ip = k.inode;
  if (ip.freeing) {
    const w = new FreeingWait(k);
    t.enter('__wait_on_freeing_inode');
    while (ip.freeing) yield w;
    t.leave();
  }
  if (ip.evicted) {
    ip.evicted = false;
    ip.dontcache = false;
    const before = ip.sDax;
    ip.sDax = ip.diskDax;
    if (k.trace.enabled) k.trace.add(t, 'note', F_LOAD, ip.sDax);
    if (before !== ip.sDax && k.onFlag) k.onFlag(t, 'reload', ip.diskDax, before, ip.sDax, 'inode load');
  }
  ip.refs++;
}

/** evict(): write back, drop every page and DAX entry, forget the in-core inode. */
function* evict(k: Kernel, t: Task): Gen<void> {
  t.enter('evict');
  try {
    k.inode.freeing = true;
    yield* filemap_write_and_wait(k, t);
    const mapping = k.inode.mapping;
    for (const e of [...mapping.entries.values()]) {
      if (e instanceof Page) {
        if (e.dirty && k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'drop-dirty', e.index * 4096, 4096);
        delete_from_page_cache(k, e);
      } else mapping.entries.delete((e as DaxEntry).index);
    }
    k.inode.evicted = true;
    k.inode.freeing = false;
    if (k.trace.enabled) k.trace.add(t, 'note', F_EVICT);
  } finally {
    t.leave();
  }
}

/** iput(): drop a reference; the last one evicts an I_DONTCACHE inode at once. */
export function* iput(k: Kernel, t: Task): Gen<void> {
  t.enter('iput');
  try {
    if (k.tick()) yield;
    const ip = k.inode;
    ip.refs--;
    if (ip.refs === 0 && ip.dontcache) yield* evict(k, t);
  } finally {
    t.leave();
  }
}

/**
 * echo 3 > drop_caches: drop clean, unmapped, unlocked pages, then evict
 * the inode if nothing holds it and no pages are left.
 */
export function* drop_caches(k: Kernel, t: Task): Gen<void> {
  t.enter('drop_caches_sysctl_handler');
  try {
    if (k.tick()) yield;
    const ip = k.inode;
    const mapping = ip.mapping;
    for (const e of [...mapping.entries.values()]) {
      if (e instanceof Page) {
        if (!e.dirty && e.mapcount === 0 && e.locker === null) delete_from_page_cache(k, e);
      } else if (!e.dirty) mapping.entries.delete(e.index);
    }
    if (ip.refs === 0 && mapping.entries.size === 0 && !ip.evicted) {
      ip.evicted = true;
      if (k.trace.enabled) k.trace.add(t, 'note', F_DROP);
    }
  } finally {
    t.leave();
  }
}
