import type { Task } from '../../sched/task.js';
import { DaxEntry, HOLE, Kernel, PAGE_SIZE, Page, VM_FAULT, ZERO_PFN, type Gen, type Vmf } from '../core.js';
import { V4_14 } from '../designs.js';
import { wait_unlocked } from '../locks.js';
import { __delete_from_page_cache, add_to_page_cache_lru, lock_page, removeExceptional, unlock_page } from '../mm/filemap.js';
import { finish_fault, unmap_mapping_range, vm_insert_mixed } from '../mm/memory.js';
import { get_page, put_page } from '../mm/page_alloc.js';
import { invalidate_inode_pages2_range } from '../mm/truncate.js';
import { bmapAllocWrite, mediaCarry, mediaRead, mediaWrite } from './bmap.js';
import { dax_iomap_pmd_fault } from './dax_pmd.js';
import { F_DATA } from '../trace.js';

/**
 * fs/dax.c by release (KERNEL-HISTORY.md §1b). 4.13: a hole read fault
 * puts a page-cache page in the mapping (dax_load_hole), grab_mapping_entry
 * hands a regular page back locked as a hole page, a write replaces it
 * (deleting it from the page cache), the PTE a fault installs is read-only
 * and a second fault makes it writable through ->pfn_mkwrite. 4.14 (Ross
 * Zwisler's series): holes map the zero pfn through zero-page entries,
 * a write fault installs a writable PTE, and grab_mapping_entry WARNs and
 * fails with -EIO on a regular page. The PMD half is in dax_pmd.ts.
 */

const F_DAXMAP = (pgoff: number, pfn: number, w: boolean): string => `DAX maps page ${pgoff} to ${pfn === ZERO_PFN ? 'the zero page' : `pfn ${pfn}`}${w ? ' writable' : ' read-only'}`;
const F_HOLEPAGE = (pgoff: number): string => `DAX hole: a page-cache page maps page ${pgoff}`;

/** -errno. */
const EIO = -5;
const EEXIST = -17;

/**
 * get_unlocked_mapping_entry(): the entry at index once it is not a locked
 * DAX entry (sleeping on the entry's lock while it is).
 */
export function* get_unlocked_mapping_entry(k: Kernel, t: Task, index: number): Gen<Page | DaxEntry | undefined> {
  const mapping = k.inode.mapping;
  for (;;) {
    const e = mapping.entries.get(index);
    if (!(e instanceof DaxEntry) || e.locker === null || e.locker === t) return e;
    yield* wait_unlocked(k, t, e, `DAX entry ${index}`, 'get_unlocked_mapping_entry');
  }
}

/** __radix_tree_insert() of an entry into every slot it covers; nrexceptional counts it once. */
function insertEntry(k: Kernel, e: DaxEntry): void {
  const mapping = k.inode.mapping;
  const n = 1 << e.order;
  for (let i = e.index; i < e.index + n; i++) mapping.entries.set(i, e);
  mapping.nrexceptional++;
}

/**
 * grab_mapping_entry(): the entry for index, locked. An empty slot gets a
 * locked empty entry; a PMD entry over a PTE request that is only a hole
 * or a placeholder is downgraded; a PMD request meeting PTE entries fails
 * with -EEXIST (the caller falls back). A regular page: 4.13 returns it
 * locked, as a hole page; 4.14 WARNs and fails with -EIO.
 */
export function* grab_mapping_entry(k: Kernel, t: Task, index: number, pmd: boolean): Gen<DaxEntry | Page | number> {
  t.enter('grab_mapping_entry');
  try {
    const mapping = k.inode.mapping;
    for (;;) {
      if (k.tick()) yield;
      const e = yield* get_unlocked_mapping_entry(k, t, index);
      if (k.v >= V4_14 && e instanceof Page) {
        k.WARN_ON_ONCE(t, true, 'fs/dax.c', `page-cache page found at index ${index} where a DAX entry must be`);
        return EIO;
      }
      let downgrade = false;
      if (e) {
        if (pmd) {
          if (e instanceof Page || e.order === 0) return EEXIST;
        } else if (e instanceof DaxEntry && e.order !== 0 && (e.kind === 'hzp' || e.kind === 'empty')) downgrade = true;
      }
      if (!e || downgrade) {
        if (downgrade) {
          const old = e as DaxEntry;
          if (old.kind === 'hzp') unmap_mapping_range(k, t, old.index, 1 << old.order);
          removeExceptional(mapping, old);
        }
        if (pmd) {
          // an order-9 insert collides with any entry in its range
          for (let i = index; i < index + 512; i++) if (mapping.entries.has(i)) return EEXIST;
        }
        const n = mapping.objects.daxEntry(index, pmd ? 9 : 0, 'empty', -1);
        n.locker = t;
        insertEntry(k, n);
        return n;
      }
      if (e instanceof Page) {
        // 4.13: "Normal page in radix tree?" -- returned locked, as a hole page
        get_page(e, k, t);
        yield* lock_page(k, t, e);
        if (e.mapping !== mapping) {
          unlock_page(e);
          put_page(k, t, e);
          continue;
        }
        return e;
      }
      e.locker = t;
      return e;
    }
  } finally {
    t.leave();
  }
}

/** put_locked_mapping_entry(): unlock (and for a page, drop the reference grab_mapping_entry took). */
export function put_locked_mapping_entry(k: Kernel, t: Task, e: DaxEntry | Page): void {
  if (e instanceof Page) {
    unlock_page(e);
    put_page(k, t, e);
  } else if (e.locker === t) e.locker = null;
}

/**
 * dax_insert_mapping_entry(): make the locked entry stand for `pfn`. A
 * hole page is unmapped, deleted from the page cache (__delete_from_page_cache
 * WARNs if it is dirty: its data is lost) and replaced. An empty or zero
 * entry is swapped for the new one in its slot (WARN_ON_ONCE if something
 * else took the slot meanwhile); a mapped entry is left alone. A write
 * fault tags the entry dirty (and the inode I_DIRTY_PAGES).
 */
export function dax_insert_mapping_entry(k: Kernel, t: Task, vmf: Vmf, entry: DaxEntry | Page, kind: DaxEntry['kind'], pfn: number): DaxEntry {
  t.enter('dax_insert_mapping_entry');
  try {
    const mapping = k.inode.mapping;
    const order = kind === 'pmd' || kind === 'hzp' ? 9 : 0;
    if (entry instanceof Page) {
      // replacing a hole page with a block mapping
      unmap_mapping_range(k, t, entry.index, 1);
      __delete_from_page_cache(k, t, entry);
      put_page(k, t, entry); // the page cache's reference
      const n = k.inode.mapping.objects.daxEntry(entry.index, order, kind, pfn);
      n.locker = t;
      insertEntry(k, n);
      unlock_page(entry);
      put_page(k, t, entry); // grab_mapping_entry's reference
      if (vmf.write) n.dirty = true;
      return n;
    }
    if ((entry.kind === 'zero' || entry.kind === 'hzp') && kind !== entry.kind) {
      // replacing the zero page (4.14) or the huge zero page with a block mapping
      unmap_mapping_range(k, t, entry.index, 1 << entry.order);
    }
    if (entry.kind === 'empty' || entry.kind === 'zero' || entry.kind === 'hzp') {
      const cur = mapping.entries.get(vmf.pgoff);
      k.WARN_ON_ONCE(t, cur !== entry, 'fs/dax.c', `the locked DAX entry at index ${vmf.pgoff} was replaced meanwhile (by a ${cur instanceof Page ? 'page-cache page' : 'other entry'})`);
      // __radix_tree_replace(): whatever sits in the slot goes; a page there leaves the tree
      // without __delete_from_page_cache, still pointing at the mapping
      entry.kind = kind;
      entry.pfn = pfn;
      for (let i = entry.index; i < entry.index + (1 << entry.order); i++) mapping.entries.set(i, entry);
    }
    if (vmf.write) entry.dirty = true;
    return entry;
  } finally {
    t.leave();
  }
}

/**
 * dax_load_hole(). 4.13: a page-cache page (find_or_create_page zeroed,
 * replacing the locked empty entry; not marked uptodate), or the hole page
 * already there, mapped read-only by finish_fault. 4.14: a zero-page entry
 * and the zero pfn. Unlocks what it ends with.
 */
function* dax_load_hole(k: Kernel, t: Task, vmf: Vmf, entry: DaxEntry | Page): Gen<number> {
  t.enter('dax_load_hole');
  try {
    if (k.v >= V4_14) {
      const e = dax_insert_mapping_entry(k, t, vmf, entry, 'zero', ZERO_PFN);
      vm_insert_mixed(k, t, vmf.vma, vmf.pgoff, ZERO_PFN, false);
      put_locked_mapping_entry(k, t, e);
      if (k.trace.enabled) k.trace.add(t, 'fault', F_DAXMAP, vmf.pgoff, ZERO_PFN, false);
      return VM_FAULT.NOPAGE;
    }
    let page: Page;
    if (entry instanceof Page) page = entry;
    else {
      // find_or_create_page(..., __GFP_ZERO): replaces our locked empty entry with a new locked page
      if (k.tick()) yield;
      page = add_to_page_cache_lru(k, t, vmf.pgoff);
      if (entry.locker === t) entry.locker = null;
    }
    vmf.page = page;
    get_page(page); // the PTE's
    let ret = finish_fault(vmf, false);
    vmf.page = null;
    if (ret) put_page(k, t, page);
    else ret = VM_FAULT.NOPAGE;
    if (k.trace.enabled) k.trace.add(t, 'fault', F_HOLEPAGE, vmf.pgoff);
    put_locked_mapping_entry(k, t, page);
    return ret;
  } finally {
    t.leave();
  }
}

/**
 * dax_iomap_fault(): PE_SIZE_PMD goes to dax_iomap_pmd_fault, a PTE fault
 * to dax_iomap_pte_fault. The caller holds the locks against truncate.
 */
export function* dax_iomap_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('dax_iomap_fault');
  try {
    return vmf.pmd ? yield* dax_iomap_pmd_fault(k, t, vmf) : yield* dax_iomap_pte_fault(k, t, vmf);
  } finally {
    t.leave();
  }
}

/**
 * dax_iomap_pte_fault(): lock the entry, map the block (allocating it for a
 * write), and insert its pfn with vm_insert_mixed(); -EBUSY (somebody else
 * mapped it) counts as success. A read of a hole or unwritten block goes
 * to dax_load_hole. Returns VM_FAULT_NOPAGE: the PTE is in place.
 */
function* dax_iomap_pte_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('dax_iomap_pte_fault');
  try {
    const ip = k.inode;
    if (k.tick()) yield;
    const size = k.isize();
    if (vmf.pgoff * PAGE_SIZE >= size) return VM_FAULT.SIGBUS;
    const got = yield* grab_mapping_entry(k, t, vmf.pgoff, false);
    if (typeof got === 'number') return VM_FAULT.SIGBUS; // dax_fault_return(-EIO)
    let entry: DaxEntry | Page = got;
    const present = vmf.vma.ptes.get(vmf.pgoff);
    if (k.v >= V4_14 && present && present.huge) {
      // a PMD got there first
      put_locked_mapping_entry(k, t, entry);
      return VM_FAULT.NOPAGE;
    }
    // ->iomap_begin: one block, allocated (and zeroed) for a write
    if (k.tick()) yield;
    const b = ip.blocks[vmf.pgoff];
    if (!vmf.write && (b === HOLE || ip.unwritten[vmf.pgoff])) return yield* dax_load_hole(k, t, vmf, entry);
    const pfn = vmf.write ? bmapAllocWrite(ip, k.media, vmf.pgoff) : b;
    entry = dax_insert_mapping_entry(k, t, vmf, entry, 'pte', pfn);
    const mkwrite = vmf.write && k.v >= V4_14;
    vm_insert_mixed(k, t, vmf.vma, vmf.pgoff, pfn, mkwrite); // -EBUSY is fine: somebody else faulted on the same PTE
    if (k.trace.enabled) k.trace.add(t, 'fault', F_DAXMAP, vmf.pgoff, pfn, mkwrite);
    put_locked_mapping_entry(k, t, entry);
    return VM_FAULT.NOPAGE;
  } finally {
    t.leave();
  }
}

/**
 * dax_pfn_mkwrite() (4.13; gone in 4.14): a write to a read-only DAX PTE.
 * Tags the entry dirty and makes the PTE writable (finish_mkwrite_fault) if
 * it is still the one faulted on; if the slot holds no DAX entry it does
 * nothing and the access faults again.
 */
export function* dax_pfn_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('dax_pfn_mkwrite');
  try {
    if (k.tick()) yield;
    const e = yield* get_unlocked_mapping_entry(k, t, vmf.pgoff);
    if (!(e instanceof DaxEntry)) return VM_FAULT.NOPAGE;
    e.dirty = true;
    const pte = vmf.vma.ptes.get(vmf.pgoff);
    if (pte && !pte.page) pte.writable = true;
    return VM_FAULT.NOPAGE;
  } finally {
    t.leave();
  }
}

/** dax_iomap_rw()'s tags among the rejoin points (Kernel.rejoin). */
const REJOIN_DAX_READ = 0xda7ead;
const REJOIN_DAX_WRITE = 0xda771e;

/** dax_iomap_rw() for a read: straight from media, up to i_size; the caller holds the lock. */
export function* dax_iomap_read(k: Kernel, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number): Gen<number> {
  t.enter('dax_iomap_rw');
  const start = pos;
  try {
    let done = 0;
    while (done < len) {
      // each page starts afresh, as generic_file_buffered_read's do (filemap.ts): the callers (dax_read from
      // xfs_file_read_iter, ext4_file_read_iter) only unlock and return after it
      if (k.rejoin) k.rejoin(t, [REJOIN_DAX_READ, start, len, done, dst.length, dstOff]);
      if (k.tick()) yield;
      const isize = k.isize();
      if (pos >= isize) break;
      const n = Math.min(len - done, PAGE_SIZE - (pos % PAGE_SIZE), isize - pos);
      mediaRead(k.inode, k.media, dst, dstOff + done, pos, n);
      mediaCarry(k, t, pos, n);
      done += n;
      pos += n;
    }
    if (done && k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'read-dax', start, done);
    return done;
  } finally {
    t.leave();
  }
}

/**
 * dax_iomap_rw() for a write: straight to media, allocating blocks,
 * extending i_size. Where a block is newly allocated (IOMAP_F_NEW) the
 * range is invalidated first, so that a hole page mapped into page tables
 * goes (4.13: only if the mapping has pages at all).
 */
export function* dax_iomap_write(k: Kernel, t: Task, src: Uint8Array, srcOff: number, len: number, pos: number): Gen<number> {
  t.enter('dax_iomap_rw');
  const start = pos;
  try {
    const ip = k.inode;
    // dax_iomap_actor() per extent: blocks allocated now (IOMAP_F_NEW) have the range invalidated first
    const first = Math.floor(pos / PAGE_SIZE);
    const last = Math.floor((pos + len - 1) / PAGE_SIZE);
    let isNew = false;
    for (let i = first; i <= last && !isNew; i++) isNew = ip.blocks[i] === HOLE || ip.unwritten[i] === 1;
    if (isNew && (k.v >= V4_14 || ip.mapping.nrpages > 0)) yield* invalidate_inode_pages2_range(k, t, first, last);
    let done = 0;
    while (done < len) {
      // each page starts afresh: what follows depends on how far the copy got, not on what was read before (the
      // callers, write_body from write_iter, only unlock and return after it)
      if (k.rejoin) k.rejoin(t, [REJOIN_DAX_WRITE, start, len, done, src.length, srcOff]);
      if (k.tick()) yield;
      const n = Math.min(len - done, PAGE_SIZE - (pos % PAGE_SIZE));
      mediaWrite(ip, k.media, src, srcOff + done, pos, n);
      done += n;
      pos += n;
      if (pos > ip.i_size) ip.i_size = pos;
    }
    if (done && k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'write-dax', start, done);
    return done;
  } finally {
    t.leave();
  }
}

/** dax_mapping_entry_mkclean(): write-protect every PTE mapping the entry's blocks, so the next store faults and dirties it again. */
function dax_mapping_entry_mkclean(k: Kernel, e: DaxEntry): void {
  for (const vma of k.inode.mapping.i_mmap) {
    for (let i = e.index; i < e.index + (1 << e.order); i++) {
      const pte = vma.ptes.get(i);
      if (pte && !pte.page && pte.pfn === e.pfn + (i - e.index)) pte.writable = false;
    }
  }
}

/**
 * dax_writeback_one(): flush one dirty entry. "A page got tagged dirty in
 * DAX mapping? Something is seriously wrong": WARN_ON and -EIO (fs/dax.c:724
 * in 4.13); an empty or zero entry tagged dirty WARNs too (dax.c:739).
 */
function* dax_writeback_one(k: Kernel, t: Task, index: number, e: DaxEntry | Page): Gen<number> {
  t.enter('dax_writeback_one');
  try {
    if (e instanceof Page) {
      if (k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'wb-skip', index * PAGE_SIZE, PAGE_SIZE);
      k.WARN_ON(t, true, k.v < V4_14 ? 'fs/dax.c:724' : 'fs/dax.c', `dirty page-cache page ${index} in a DAX mapping`);
      return EIO;
    }
    const cur = yield* get_unlocked_mapping_entry(k, t, index);
    if (cur !== e) return 0; // punched out or reallocated meanwhile
    if (e.kind === 'empty' || e.kind === 'zero' || e.kind === 'hzp') {
      k.WARN_ON_ONCE(t, e.dirty, k.v < V4_14 ? 'fs/dax.c:739' : 'fs/dax.c', `empty or zero DAX entry ${index} tagged dirty`);
      return e.dirty ? EIO : 0;
    }
    if (!e.dirty) return 0;
    // locked around the flush; the model's flush has no preemption point, so nobody sees the lock
    dax_mapping_entry_mkclean(k, e);
    e.dirty = false; // flush CPU caches: nothing to do for data in the model
    return 0;
  } finally {
    t.leave();
  }
}

/**
 * dax_writeback_mapping_range(): WB_SYNC_ALL only, and only if the mapping
 * has exceptional entries. Every entry tagged dirty in [start, end] when
 * it starts (tag_pages_for_writeback) is written back; the first error
 * ends it and is set on the mapping.
 */
export function* dax_writeback_mapping_range(k: Kernel, t: Task, start: number, end: number, sync: boolean): Gen<number> {
  t.enter('dax_writeback_mapping_range');
  try {
    const mapping = k.inode.mapping;
    if (mapping.nrexceptional === 0 || !sync) return 0;
    const first = Math.floor(start / PAGE_SIZE);
    const last = Math.min(Math.floor(end / PAGE_SIZE), k.inode.nblocks);
    const towrite: number[] = [];
    let prev: DaxEntry | Page | undefined;
    for (let i = first; i <= last; i++) {
      const e = mapping.entries.get(i);
      if (!e || e === prev) continue;
      prev = e;
      if (e.dirty) towrite.push(i);
    }
    const n = towrite.length;
    for (let j = 0; j < n; j++) {
      const i = towrite[j];
      if (k.tick()) yield;
      const e = mapping.entries.get(i);
      if (!e) continue;
      const r = yield* dax_writeback_one(k, t, i, e);
      if (r < 0) return r; // mapping_set_error()
    }
    return 0;
  } finally {
    t.leave();
  }
}

/** dax_delete_mapping_entry() (truncate): the entry goes whatever its state. */
export function dax_delete_mapping_entry(k: Kernel, _t: Task, e: DaxEntry, index: number): void {
  removeExceptional(k.inode.mapping, e, index);
}

/** dax_invalidate_mapping_entry() (invalidate_mapping_pages): only an unlocked, clean entry goes. */
export function dax_invalidate_mapping_entry(k: Kernel, e: DaxEntry, index: number): boolean {
  if (e.locker !== null || e.dirty) return false;
  removeExceptional(k.inode.mapping, e, index);
  return true;
}

/** dax_invalidate_mapping_entry_sync() (invalidate_inode_pages2): wait for the entry's lock; a clean entry goes. */
export function* dax_invalidate_mapping_entry_sync(k: Kernel, t: Task, index: number): Gen<boolean> {
  const cur = yield* get_unlocked_mapping_entry(k, t, index);
  if (!(cur instanceof DaxEntry)) return true;
  if (cur.dirty) return false;
  removeExceptional(k.inode.mapping, cur, index);
  return true;
}
