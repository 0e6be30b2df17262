import type { Gen } from '../../sched/task.js';
import type { Task } from '../../sched/task.js';
import { Kernel, PAGE_SIZE, Page, VM, VM_FAULT, type Pte, type Vma, type Vmf } from '../core.js';
import { unlock_page } from './filemap.js';
import { F_DATA, type DataHow } from '../trace.js';

const F_FAULT = (write: boolean, pgoff: number, what: string): string => `${write ? 'write' : 'read'} fault on page ${pgoff} (${what})`;


/** A fault that keeps coming back without progress: the model calls it a hang. */
export class FaultLoop extends Error {
  constructor(
    readonly task: Task,
    readonly frames: string[],
    readonly pgoff: number,
    readonly tries: number,
  ) {
    super(`fault on page ${pgoff} retried ${tries} times without progress`);
    this.name = 'FaultLoop';
  }
}

/** Faults on one page before the model calls it a livelock. */
export const FAULT_RETRY_LIMIT = 1000;

function zap_pte(vma: Vma, pgoff: number): void {
  const pte = vma.ptes.get(pgoff);
  if (!pte) return;
  if (pte.page) pte.page.mapcount--;
  vma.ptes.delete(pgoff);
}

/** unmap_mapping_range(): zap the PTEs of file pages [first, first+n) in every VMA linked to the file. */
export function unmap_mapping_range(k: Kernel, first: number, n: number): void {
  const end = first + n;
  for (const vma of k.inode.mapping.i_mmap) {
    if (vma.ptes.size === 0) continue;
    const lo = Math.max(first, vma.pgoff);
    const hi = Math.min(end, vma.pgoff + vma.npages);
    for (let pgoff = lo; pgoff < hi; pgoff++) zap_pte(vma, pgoff);
  }
}

/** page_mkclean(): write-protect every PTE of a page being cleaned, so the next write faults. */
export function page_mkclean(k: Kernel, page: Page): void {
  if (page.mapcount === 0) return;
  for (const vma of k.inode.mapping.i_mmap) {
    const pte = vma.ptes.get(page.index);
    if (pte && pte.page === page) pte.writable = false;
  }
}

/** Unmap a whole VMA (munmap). */
export function zap_vma(vma: Vma): void {
  for (const pgoff of [...vma.ptes.keys()]) zap_pte(vma, pgoff);
}

/**
 * vm_insert_mixed(): put a pfn into the page table. The VMA must have been
 * set up for mixed maps at mmap time.
 */
export function vm_insert_mixed(k: Kernel, t: Task, vma: Vma, pgoff: number, pfn: number, writable: boolean): void {
  t.enter('vm_insert_mixed');
  k.BUG_ON(t, !(vma.vm_flags & VM.MIXEDMAP), 'mm/memory.c:1798', 'vm_insert_mixed() on a VMA without VM_MIXEDMAP');
  t.leave();
  const old = vma.ptes.get(pgoff);
  if (old?.page) old.page.mapcount--;
  vma.ptes.set(pgoff, { page: null, pfn, writable });
}

/** finish_fault() / alloc_set_pte(): map vmf->page. */
function finish_fault(vmf: Vmf, writable: boolean): void {
  const page = vmf.page!;
  const old = vmf.vma.ptes.get(vmf.pgoff);
  if (old) {
    // someone else mapped it meanwhile: theirs stands
    return;
  }
  page.mapcount++;
  vmf.vma.ptes.set(vmf.pgoff, { page, pfn: -1, writable });
}

function* __do_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('__do_fault');
  try {
    const ops = vmf.vma.vm_ops!;
    const ret = yield* ops.fault(k, t, vmf);
    if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE | VM_FAULT.RETRY)) return ret;
    // the handler returned a locked page in vmf->page
    return ret;
  } finally {
    t.leave();
  }
}

function* do_read_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('do_read_fault');
  try {
    const ret = yield* __do_fault(k, t, vmf);
    if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE | VM_FAULT.RETRY)) return ret;
    // a read fault on a shared mapping maps read-only, for dirty tracking
    finish_fault(vmf, false);
    unlock_page(vmf.page!);
    return ret;
  } finally {
    t.leave();
  }
}

function* do_page_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('do_page_mkwrite');
  try {
    return yield* vmf.vma.vm_ops!.page_mkwrite!(k, t, vmf);
  } finally {
    t.leave();
  }
}

function* do_shared_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('do_shared_fault');
  try {
    let ret = yield* __do_fault(k, t, vmf);
    if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE | VM_FAULT.RETRY)) return ret;
    const ops = vmf.vma.vm_ops!;
    if (ops.page_mkwrite) {
      unlock_page(vmf.page!);
      const tmp = yield* do_page_mkwrite(k, t, vmf);
      if (tmp & (VM_FAULT.ERROR | VM_FAULT.NOPAGE)) return tmp;
      // page_mkwrite returns the page locked (VM_FAULT_LOCKED)
      ret |= tmp;
    }
    finish_fault(vmf, true);
    // fault_dirty_shared_page()
    const page = vmf.page!;
    if (page.mapping) page.dirty = true;
    unlock_page(page);
    return ret;
  } finally {
    t.leave();
  }
}

/** do_wp_page(): a write to a present read-only PTE. */
function* do_wp_page(k: Kernel, t: Task, vmf: Vmf, pte: Pte): Gen<number> {
  t.enter('do_wp_page');
  try {
    const ops = vmf.vma.vm_ops!;
    if (!pte.page) {
      // VM_MIXEDMAP pfn with no struct page: wp_pfn_shared()
      t.enter('wp_pfn_shared');
      try {
        if (ops.pfn_mkwrite) {
          const ret = yield* ops.pfn_mkwrite(k, t, vmf);
          if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE)) return ret;
        }
        const cur = vmf.vma.ptes.get(vmf.pgoff);
        if (cur === pte) cur.writable = true;
        return 0;
      } finally {
        t.leave();
      }
    }
    // wp_page_shared(): page_mkwrite with the page, then make the PTE writable
    t.enter('wp_page_shared');
    try {
      vmf.page = pte.page;
      if (ops.page_mkwrite) {
        const tmp = yield* do_page_mkwrite(k, t, vmf);
        if (tmp & (VM_FAULT.ERROR | VM_FAULT.NOPAGE)) return tmp;
        const cur = vmf.vma.ptes.get(vmf.pgoff);
        if (cur !== pte) {
          // the PTE changed under us: let the access retry
          unlock_page(vmf.page!);
          return VM_FAULT.NOPAGE;
        }
      }
      pte.writable = true;
      const page = vmf.page!;
      if (page.mapping) page.dirty = true;
      if (ops.page_mkwrite) unlock_page(page);
      return 0;
    } finally {
      t.leave();
    }
  } finally {
    t.leave();
  }
}

/** handle_mm_fault() for a shared file mapping: returns VM_FAULT_* bits. */
export function* handle_mm_fault(k: Kernel, t: Task, vma: Vma, pgoff: number, write: boolean): Gen<number> {
  t.enter('handle_mm_fault');
  t.enter('__handle_mm_fault');
  t.enter('handle_pte_fault');
  try {
    const vmf: Vmf = { vma, pgoff, write, page: null };
    const pte = vma.ptes.get(pgoff);
    if (k.trace.enabled) k.trace.add(t, 'fault', F_FAULT, write, pgoff, pte ? (pte.page ? 'read-only page' : 'read-only pfn') : 'no PTE');
    if (!pte) {
      t.enter('do_fault');
      try {
        return write ? yield* do_shared_fault(k, t, vmf) : yield* do_read_fault(k, t, vmf);
      } finally {
        t.leave();
      }
    }
    if (write && !pte.writable) return yield* do_wp_page(k, t, vmf, pte);
    return 0;
  } finally {
    t.leave();
    t.leave();
    t.leave();
  }
}

/**
 * A user-space memcpy to or from a mapping, page by page: each page touched
 * is a preemption point, and faults when its PTE is missing (or read-only,
 * for a write). Returns 0, or -EFAULT when a fault ends in SIGBUS.
 */
export function* user_copy(
  k: Kernel,
  t: Task,
  vma: Vma,
  at: number,
  buf: Uint8Array,
  bufOff: number,
  len: number,
  write: boolean,
): Gen<number> {
  let pos = vma.pgoff * PAGE_SIZE + at;
  const end = pos + len;
  // for the trace: runs of bytes that went to (or came from) the same place
  const tracing = k.trace.enabled;
  let runHow: DataHow | null = null;
  let runStart = pos;
  while (pos < end) {
    const pgoff = Math.floor(pos / PAGE_SIZE);
    const inPage = pos - pgoff * PAGE_SIZE;
    const n = Math.min(end - pos, PAGE_SIZE - inPage);
    if (k.tick()) yield; // every page a copy touches is a preemption point
    let pte = vma.ptes.get(pgoff);
    if (k.observer) k.observer(t, pte ? (pte.writable ? 2 : 1) : 0);
    let tries = 0;
    while (!pte || (write && !pte.writable)) {
      t.enter('page_fault');
      t.enter('do_page_fault');
      t.enter('__do_page_fault');
      let r: number;
      try {
        r = yield* handle_mm_fault(k, t, vma, pgoff, write);
      } finally {
        t.leave();
        t.leave();
        t.leave();
      }
      if (r & VM_FAULT.ERROR) {
        if (runHow) k.trace.add(t, 'data', F_DATA, runHow, runStart, pos - runStart);
        return -14; // EFAULT: the process gets SIGBUS
      }
      if (++tries > FAULT_RETRY_LIMIT) {
        throw new FaultLoop(t, ['page_fault', 'do_page_fault', '__do_page_fault', 'handle_mm_fault'], pgoff, tries);
      }
      pte = vma.ptes.get(pgoff);
    }
    if (tracing) {
      const how: DataHow = pte.page ? (write ? 'store-cache' : 'load-cache') : pte.pfn < 0 ? 'load-zero' : write ? 'store-dax' : 'load-dax';
      if (how !== runHow) {
        if (runHow) k.trace.add(t, 'data', F_DATA, runHow, runStart, pos - runStart);
        runHow = how;
        runStart = pos;
      }
    }
    if (pte.pfn < 0 && !pte.page) {
      // the shared zero page (read-only: a write faulted above)
      buf.fill(0, bufOff, bufOff + n);
    } else {
      const mem = pte.page ? pte.page.data : k.media.data;
      const base = pte.page ? 0 : pte.pfn * PAGE_SIZE;
      if (write) mem.set(buf.subarray(bufOff, bufOff + n), base + inPage);
      else buf.set(mem.subarray(base + inPage, base + inPage + n), bufOff);
    }
    bufOff += n;
    pos += n;
  }
  if (runHow) k.trace.add(t, 'data', F_DATA, runHow, runStart, pos - runStart);
  return 0;
}
