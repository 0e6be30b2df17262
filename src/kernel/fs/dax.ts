import type { Gen } from '../../sched/task.js';
import type { Task } from '../../sched/task.js';
import { DaxEntry, HOLE, Kernel, PAGE_SIZE, Page, VM_FAULT, type Vmf } from '../core.js';
import { vm_insert_mixed } from '../mm/memory.js';
import { bmapAllocWrite, mediaRead, mediaWrite } from './bmap.js';
import { F_DATA } from '../trace.js';

const F_DAXMAP = (pgoff: number, pfn: number, w: boolean): string => `DAX maps page ${pgoff} to ${pfn === -2 ? 'the zero page' : `pfn ${pfn}`}${w ? ' writable' : ''}`;


/** The shared zero page's pfn: what a DAX read fault on a hole maps. */
export const ZERO_PFN = -2;

/**
 * grab_mapping_entry(): the DAX entry for index, created if absent. A
 * page-cache page where a DAX entry must be trips the kernel's
 * WARN_ON_ONCE and fails with -EIO.
 */
function* grab_mapping_entry(k: Kernel, t: Task, index: number): Gen<DaxEntry | null> {
  t.enter('grab_mapping_entry');
  try {
    if (k.tick()) yield;
    const mapping = k.inode.mapping;
    const e = mapping.entries.get(index);
    if (e instanceof Page && k.WARN_ON_ONCE(t, true, 'fs/dax.c:479', `page-cache page found at index ${index} where a DAX entry must be`)) {
      return null;
    }
    if (e instanceof DaxEntry) return e;
    const n = new DaxEntry(index);
    mapping.entries.set(index, n);
    return n;
  } finally {
    t.leave();
  }
}

/**
 * dax_iomap_fault() for a PTE: map the block (allocating it for a write)
 * and insert its pfn with vm_insert_mixed(); returns VM_FAULT_NOPAGE since
 * the PTE is in place and there is no page to hand back.
 */
export function* dax_iomap_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('dax_iomap_fault');
  t.enter('dax_iomap_pte_fault');
  try {
    const ip = k.inode;
    if (k.tick()) yield;
    const size = k.isize();
    if (vmf.pgoff * PAGE_SIZE >= size) return VM_FAULT.SIGBUS;
    const entry = yield* grab_mapping_entry(k, t, vmf.pgoff);
    if (!entry) return VM_FAULT.SIGBUS;
    // ->iomap_begin: one block, allocated (and zeroed) for a write
    if (k.tick()) yield;
    const b = ip.blocks[vmf.pgoff];
    let pfn: number;
    if (vmf.write) {
      pfn = bmapAllocWrite(ip, k.media, vmf.pgoff);
      entry.dirty = true;
    } else {
      pfn = b === HOLE || ip.unwritten[vmf.pgoff] ? ZERO_PFN : b;
    }
    vm_insert_mixed(k, t, vmf.vma, vmf.pgoff, pfn, vmf.write);
    if (k.trace.enabled) k.trace.add(t, 'fault', F_DAXMAP, vmf.pgoff, pfn, vmf.write);
    return VM_FAULT.NOPAGE;
  } finally {
    t.leave();
    t.leave();
  }
}

/** dax_pfn_mkwrite(): a write to a read-only DAX PTE. */
export function* dax_pfn_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('dax_pfn_mkwrite');
  try {
    if (k.tick()) yield;
    const e = k.inode.mapping.entries.get(vmf.pgoff);
    const pte = vmf.vma.ptes.get(vmf.pgoff);
    if (!(e instanceof DaxEntry) || !pte) return VM_FAULT.NOPAGE;
    if (pte.pfn === ZERO_PFN) {
      // the zero page is never written: drop it and let the write fault allocate
      vmf.vma.ptes.delete(vmf.pgoff);
      return VM_FAULT.NOPAGE;
    }
    e.dirty = true;
    pte.writable = true; // finish_mkwrite_fault()
    return VM_FAULT.NOPAGE;
  } finally {
    t.leave();
  }
}

/** dax_iomap_rw() for a read: straight from media, up to i_size; the caller holds the lock. */
export function* dax_iomap_read(k: Kernel, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number): Gen<number> {
  t.enter('dax_iomap_rw');
  const start = pos;
  try {
    let done = 0;
    while (done < len) {
      if (k.tick()) yield;
      const isize = k.isize();
      if (pos >= isize) break;
      const n = Math.min(len - done, PAGE_SIZE - (pos % PAGE_SIZE), isize - pos);
      mediaRead(k.inode, k.media, dst, dstOff + done, pos, n);
      done += n;
      pos += n;
    }
    if (done && k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'read-dax', start, done);
    return done;
  } finally {
    t.leave();
  }
}

/** dax_iomap_rw() for a write: straight to media, allocating blocks, extending i_size. */
export function* dax_iomap_write(k: Kernel, t: Task, src: Uint8Array, srcOff: number, len: number, pos: number): Gen<number> {
  t.enter('dax_iomap_rw');
  const start = pos;
  try {
    let done = 0;
    while (done < len) {
      if (k.tick()) yield;
      const n = Math.min(len - done, PAGE_SIZE - (pos % PAGE_SIZE));
      mediaWrite(k.inode, k.media, src, srcOff + done, pos, n);
      done += n;
      pos += n;
      if (pos > k.inode.i_size) k.inode.i_size = pos;
    }
    if (done && k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'write-dax', start, done);
    return done;
  } finally {
    t.leave();
  }
}
