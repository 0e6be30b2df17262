import type { Task } from '../../sched/task.js';
import { DaxEntry, Kernel, PAGE_SIZE, Page, type Gen } from '../core.js';
import { dax_delete_mapping_entry, dax_invalidate_mapping_entry, dax_invalidate_mapping_entry_sync } from '../fs/dax.js';
import { delete_from_page_cache, lock_page, removeExceptional, unlock_page } from './filemap.js';
import { unmap_mapping_range } from './memory.js';
import { get_page, put_page } from './page_alloc.js';
import { F_DATA } from '../trace.js';

/**
 * mm/truncate.c of the modelled release: truncation (pages and DAX entries
 * go whatever their state), invalidation (clean pages only), and the
 * unmapping that comes first.
 */

/**
 * truncate_inode_pages_range(): drop pages and DAX entries wholly inside
 * [start, end) and zero the parts of partial pages inside it. A dirty page
 * is cleaned first (cancel_dirty_page): its data is gone without a word.
 * An exceptional entry goes through dax_delete_mapping_entry() for a DAX
 * mapping, as a shadow entry otherwise. The callers hold the locks that
 * keep faults out, so no DAX entry is locked here.
 */
export function truncate_inode_pages_range(k: Kernel, t: Task, start: number, end: number): void {
  const mapping = k.inode.mapping;
  if (mapping.entries.size === 0) return;
  const first = Math.floor(start / PAGE_SIZE);
  const top = Math.min(Math.floor((end - 1) / PAGE_SIZE), k.inode.nblocks);
  const visit = (i: number): void => {
    const e = mapping.entries.get(i);
    if (!e) return;
    const ps = i * PAGE_SIZE;
    const pe = ps + PAGE_SIZE;
    if (pe <= start || ps >= end) return;
    if (e instanceof DaxEntry) {
      // only whole pages of the range are looked up; a PMD entry found there goes whole
      if (ps < start || pe > end) return;
      if (k.inode.sDax) dax_delete_mapping_entry(k, t, e, i);
      else removeExceptional(mapping, e, i); // clear_shadow_entry()
      return;
    }
    if (ps >= start && pe <= end) {
      // truncate_complete_page(): unmapped by the caller, cleaned, deleted
      if (e.mapcount > 0) unmap_mapping_range(k, t, i, 1);
      e.dirty = false;
      delete_from_page_cache(k, t, e);
    } else {
      e.data.fill(0, Math.max(start, ps) - ps, Math.min(end, pe) - ps);
    }
  };
  if (top - first > mapping.entries.size) {
    for (const i of [...mapping.entries.keys()].sort((a, b) => a - b)) if (i >= first && i <= top) visit(i);
  } else for (let i = first; i <= top; i++) visit(i);
}

/** truncate_inode_pages_final(): everything, at eviction; a dirty page's bytes are lost (a 'drop-dirty' data event each). */
export function truncate_inode_pages_final(k: Kernel, t: Task): void {
  if (k.trace.enabled && k.inode.mapping.nrpages > 0) {
    for (const [i, p] of [...k.inode.mapping.entries].sort((a, b) => a[0] - b[0])) if (p instanceof Page && p.dirty) k.trace.add(t, 'data', F_DATA, 'drop-dirty', i * PAGE_SIZE, PAGE_SIZE);
  }
  truncate_inode_pages_range(k, t, 0, (k.inode.nblocks + 1) * PAGE_SIZE);
}

/** truncate_pagecache_range(): unmap then drop [start, end) (byte range). */
export function truncate_pagecache_range(k: Kernel, t: Task, start: number, end: number): void {
  const first = Math.ceil(start / PAGE_SIZE);
  const last = Math.floor(end / PAGE_SIZE);
  if (last > first) unmap_mapping_range(k, t, first, last - first);
  // partial pages stay mapped; their contents are zeroed in place
  truncate_inode_pages_range(k, t, start, end);
}

/** truncate_pagecache(): after i_size went down to newsize. */
export function truncate_pagecache(k: Kernel, t: Task, newsize: number): void {
  const holebegin = Math.ceil(newsize / PAGE_SIZE);
  unmap_mapping_range(k, t, holebegin, Number.MAX_SAFE_INTEGER);
  truncate_inode_pages_range(k, t, newsize, Number.MAX_SAFE_INTEGER);
}

/**
 * invalidate_inode_pages2_range() (4.13): drop every page and DAX entry of
 * [first, last]. A mapped page is unmapped first (from it to the end of the
 * range); a dirty page or DAX entry cannot be dropped and makes it fail
 * with EBUSY. For a DAX mapping every PTE of the range is zapped at the end.
 */
export function* invalidate_inode_pages2_range(k: Kernel, t: Task, first: number, last: number): Gen<number> {
  t.enter('invalidate_inode_pages2_range');
  try {
    const mapping = k.inode.mapping;
    let ret = 0;
    if (mapping.nrpages === 0 && mapping.nrexceptional === 0) return 0;
    let didRangeUnmap = false;
    const top = Math.min(last, k.inode.nblocks);
    for (let i = first; i <= top; i++) {
      const e = mapping.entries.get(i);
      if (!e) continue;
      // the lookup takes its reference at once (pagevec_lookup_entries under RCU)
      if (e instanceof Page) get_page(e, k, t);
      if (k.tick()) yield;
      if (e instanceof DaxEntry) {
        if (e.order !== 0 && i !== e.index && i !== first) continue;
        // invalidate_exceptional_entry2(): a DAX entry only if clean; a shadow entry always
        if (k.inode.sDax) {
          if (!(yield* dax_invalidate_mapping_entry_sync(k, t, i))) ret = -16;
        } else removeExceptional(mapping, e, i);
        continue;
      }
      yield* lock_page(k, t, e);
      if (e.mapping !== mapping) {
        unlock_page(e);
        put_page(k, t, e);
        continue;
      }
      if (e.mapcount > 0) {
        if (!didRangeUnmap) {
          unmap_mapping_range(k, t, i, top - i + 1);
          didRangeUnmap = true;
        } else unmap_mapping_range(k, t, i, 1);
      }
      // invalidate_complete_page2(): no ->launder_page; a dirty page stays
      if (e.dirty) ret = -16;
      else delete_from_page_cache(k, t, e);
      unlock_page(e);
      put_page(k, t, e);
    }
    if (k.tick()) yield;
    if (k.isDax(t)) unmap_mapping_range(k, t, first, top - first + 1);
    return ret;
  } finally {
    t.leave();
  }
}

/** invalidate_inode_pages2(): the whole file (mm/truncate.c). */
export function* invalidate_inode_pages2(k: Kernel, t: Task): Gen<number> {
  t.enter('invalidate_inode_pages2');
  try {
    return yield* invalidate_inode_pages2_range(k, t, 0, k.inode.nblocks);
  } finally {
    t.leave();
  }
}

/**
 * invalidate_mapping_pages() (drop_caches, 4.13): drop what can go without
 * waiting: clean, unmapped pages nobody else holds (remove_mapping freezes
 * the count at 2: the cache's and ours) and that trylock, and clean,
 * unlocked DAX entries. Returns how many went.
 */
export function* invalidate_mapping_pages(k: Kernel, t: Task, first: number, last: number): Gen<number> {
  t.enter('invalidate_mapping_pages');
  try {
    const mapping = k.inode.mapping;
    let freed = 0;
    const idx = [...mapping.entries.keys()].filter((i) => i >= first && i <= last).sort((a, b) => a - b);
    for (const i of idx) {
      if (k.tick()) yield;
      const e = mapping.entries.get(i);
      if (!e) continue;
      if (e instanceof DaxEntry) {
        if (k.inode.sDax ? dax_invalidate_mapping_entry(k, e, i) : (removeExceptional(mapping, e, i), true)) freed++;
        continue;
      }
      if (!invalidateable(e, mapping)) continue;
      e.locker = t;
      delete_from_page_cache(k, t, e);
      unlock_page(e);
      freed++;
    }
    return freed;
  } finally {
    t.leave();
  }
}

/** invalidate_inode_page()'s tests and remove_mapping()'s page_ref_freeze(page, 2): clean, unmapped, unlocked, nobody else holding it. */
function invalidateable(p: Page, mapping: Kernel['inode']['mapping']): boolean {
  return p.locker === null && !p.dirty && p.mapcount === 0 && p.mapping === mapping && p.count === 1;
}
