import type { Task } from '../../sched/task.js';
import { Kernel, PAGE_SIZE, PMD_PAGES, Page, VM, VM_FAULT, ZERO_PFN, HUGE_ZERO_PFN, type Gen, type Pte, type Vma, type Vmf } from '../core.js';
import { V4_14, V5_8 } from '../designs.js';
import { filemap_map_pages, unlock_page, lock_page } from './filemap.js';
import { get_page, put_page } from './page_alloc.js';
import { F_DATA, type DataHow } from '../trace.js';
import { down_quiet, up_quiet } from '../locks.js';

const F_FAULT = (write: boolean, pgoff: number, what: string): string => `${write ? 'write' : 'read'} fault on page ${pgoff} (${what})`;

/**
 * mm/memory.c of the modelled release: page tables, inserting pfns, the
 * fault paths from handle_mm_fault down to the vm_ops, and the user copy
 * that faults.
 */

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

/** fault_around_bytes: 64 KiB, 16 pages. */
const FAULT_AROUND_PAGES = 16;

/** The virtual page a file page is mapped at in this VMA. */
export function vpage(vma: Vma, pgoff: number): number {
  return vma.vstart + (pgoff - vma.pgoff);
}

/** The 2 MiB virtual region (the PMD) a file page of this VMA falls in. */
export function pmdRegion(vma: Vma, pgoff: number): number {
  return Math.floor(vpage(vma, pgoff) / PMD_PAGES);
}

/** zap_pte_range() for one PTE: the PTE goes, a page's mapcount and the PTE's reference with it (mm/memory.c). */
function zap_one(k: Kernel, t: Task, vma: Vma, pgoff: number, pte: Pte): void {
  vma.ptes.delete(pgoff);
  if (pte.page) {
    pte.page.mapcount--;
    put_page(k, t, pte.page);
  }
}

/** Clear a huge PMD mapping: all 512 PTEs of its region (for a file VMA, splitting a PMD clears it). */
export function zap_huge_pmd(k: Kernel, t: Task, vma: Vma, pgoff: number): void {
  const first = vma.pgoff + (pmdRegion(vma, pgoff) * PMD_PAGES - vma.vstart);
  for (let p = first; p < first + PMD_PAGES; p++) {
    const pte = vma.ptes.get(p);
    if (pte && pte.huge) zap_one(k, t, vma, p, pte);
  }
}

/** One PTE, or the whole PMD it belongs to (zap_pmd_range splits a file PMD by clearing it). */
function zap_pte(k: Kernel, t: Task, vma: Vma, pgoff: number): void {
  const pte = vma.ptes.get(pgoff);
  if (!pte) return;
  if (pte.huge) zap_huge_pmd(k, t, vma, pgoff);
  else zap_one(k, t, vma, pgoff, pte);
}

/** unmap_mapping_range(): zap the PTEs of file pages [first, first+n) in every VMA linked to the file. */
export function unmap_mapping_range(k: Kernel, t: Task, first: number, n: number): void {
  const end = first + n;
  for (const vma of k.inode.mapping.i_mmap) {
    if (vma.ptes.size === 0) continue;
    const lo = Math.max(first, vma.pgoff);
    const hi = Math.min(end, vma.pgoff + vma.npages);
    if (hi - lo > vma.ptes.size) {
      for (const pgoff of [...vma.ptes.keys()]) if (pgoff >= lo && pgoff < hi) zap_pte(k, t, vma, pgoff);
    } else for (let pgoff = lo; pgoff < hi; pgoff++) zap_pte(k, t, vma, pgoff);
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
export function zap_vma(k: Kernel, t: Task, vma: Vma): void {
  for (const pgoff of [...vma.ptes.keys()]) zap_pte(k, t, vma, pgoff);
}

/**
 * insert_pfn(): put a pfn into an empty PTE. A present PTE answers -EBUSY
 * (4.13); from 4.14 vm_insert_mixed_mkwrite() makes a present PTE of the
 * same pfn writable instead (WARN_ON_ONCE if the pfn differs).
 */
function insert_pfn(k: Kernel, t: Task, vma: Vma, pgoff: number, pfn: number, mkwrite: boolean): number {
  const old = vma.ptes.get(pgoff);
  if (old) {
    if (!mkwrite || k.v < V4_14) return -16; // -EBUSY: somebody else faulted it in
    if (k.WARN_ON_ONCE(t, old.pfn !== pfn, 'mm/memory.c', `insert_pfn(mkwrite): PTE of page ${pgoff} maps pfn ${old.pfn}, not ${pfn}`)) return -16;
    old.writable = true;
    return 0;
  }
  vma.ptes.set(pgoff, vma.inode.mapping.objects.pte(null, pfn, mkwrite, false));
  vma.pteTables.add(pmdRegion(vma, pgoff));
  return 0;
}

/**
 * vm_insert_mixed() / vm_insert_mixed_mkwrite() (4.14): a pfn into the page
 * table. 4.13 and 4.14 BUG_ON(!(vma->vm_flags & VM_MIXEDMAP))
 * (mm/memory.c:1780 in 4.13). From 4.15 DAX VMAs have no VM_MIXEDMAP and
 * 5.8 checks vm_mixed_ok(), which a pmem (devmap) pfn or the zero pfn
 * always passes. In 4.13 the PTE is read-only: the VMA is write-notify
 * (the file has ->page_mkwrite), so a write comes back through
 * ->pfn_mkwrite.
 */
export function vm_insert_mixed(k: Kernel, t: Task, vma: Vma, pgoff: number, pfn: number, mkwrite: boolean): number {
  t.enter(mkwrite ? 'vm_insert_mixed_mkwrite' : 'vm_insert_mixed');
  try {
    if (k.v < V5_8) {
      k.BUG_ON(t, !(vma.vm_flags & VM.MIXEDMAP), k.v < V4_14 ? 'mm/memory.c:1780' : 'mm/memory.c', 'vm_insert_mixed() on a VMA without VM_MIXEDMAP');
    }
    return insert_pfn(k, t, vma, pgoff, pfn, mkwrite);
  } finally {
    t.leave();
  }
}

/** alloc_set_pte(): map a page (the caller's reference becomes the PTE's); false when a PTE is already there. */
export function alloc_set_pte(vma: Vma, pgoff: number, page: Page, writable: boolean): boolean {
  if (vma.ptes.has(pgoff)) return false;
  page.mapcount++;
  vma.ptes.set(pgoff, vma.inode.mapping.objects.pte(page, -1, writable, false));
  vma.pteTables.add(pmdRegion(vma, pgoff));
  return true;
}

/** finish_fault(): map vmf->page; VM_FAULT_NOPAGE when somebody mapped the address meanwhile. */
export function finish_fault(vmf: Vmf, writable: boolean): number {
  return alloc_set_pte(vmf.vma, vmf.pgoff, vmf.page!, writable) ? 0 : VM_FAULT.NOPAGE;
}

/** __do_fault() (mm/memory.c, 4.13): ->fault. */
function* __do_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('__do_fault');
  try {
    return yield* vmf.vma.vm_ops!.fault(k, t, vmf);
  } finally {
    t.leave();
  }
}

/**
 * do_fault_around() (4.13): ->map_pages over the 16-page window around the
 * address, inside the VMA and its page table. If that mapped the faulting
 * page, the fault is done without ->fault.
 */
function* do_fault_around(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('do_fault_around');
  try {
    const vma = vmf.vma;
    const va = vpage(vma, vmf.pgoff);
    const winStart = Math.max(va - (va % FAULT_AROUND_PAGES), vma.vstart);
    const tableEnd = va - (va % PMD_PAGES) + PMD_PAGES - 1;
    const winEnd = Math.min(winStart + FAULT_AROUND_PAGES - 1, vma.vstart + vma.npages - 1, tableEnd);
    yield* filemap_map_pages(k, t, vmf, vma.pgoff + (winStart - vma.vstart), vma.pgoff + (winEnd - vma.vstart));
    return vma.ptes.has(vmf.pgoff) ? VM_FAULT.NOPAGE : 0;
  } finally {
    t.leave();
  }
}

/** do_read_fault() (mm/memory.c, 4.13): fault-around first if the vm_ops have ->map_pages, then ->fault, the page mapped read-only. */
function* do_read_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('do_read_fault');
  try {
    if (vmf.vma.vm_ops!.map_pages && k.inode.mapping.nrpages > 0) {
      // (with no page cached, ->map_pages would find nothing to map)
      const r = yield* do_fault_around(k, t, vmf);
      if (r) return r;
    }
    let ret = yield* __do_fault(k, t, vmf);
    if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE | VM_FAULT.RETRY)) return ret;
    // a read fault on a shared mapping maps read-only, for dirty tracking
    const page = vmf.page!;
    ret |= finish_fault(vmf, false);
    unlock_page(page);
    if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE | VM_FAULT.RETRY)) put_page(k, t, page);
    return ret;
  } finally {
    t.leave();
  }
}

/**
 * do_page_mkwrite(): ->page_mkwrite with vmf->page. If the handler did not
 * return the page locked, lock it and check it still belongs to a mapping
 * (truncated meanwhile: retry the fault).
 */
function* do_page_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('do_page_mkwrite');
  try {
    const page = vmf.page;
    const ret = yield* vmf.vma.vm_ops!.page_mkwrite!(k, t, vmf);
    if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE)) return ret;
    if (!(ret & VM_FAULT.LOCKED)) {
      yield* lock_page(k, t, page);
      if (!page!.mapping) {
        unlock_page(page!);
        return 0; // retry
      }
      return ret | VM_FAULT.LOCKED;
    }
    return ret;
  } finally {
    t.leave();
  }
}

/** do_shared_fault() (mm/memory.c, 4.13): ->fault; for a returned page ->page_mkwrite, then map it writable and dirty it. */
function* do_shared_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('do_shared_fault');
  try {
    let ret = yield* __do_fault(k, t, vmf);
    if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE | VM_FAULT.RETRY)) return ret;
    const ops = vmf.vma.vm_ops!;
    const page = vmf.page!;
    if (ops.page_mkwrite) {
      unlock_page(page);
      const tmp = yield* do_page_mkwrite(k, t, vmf);
      if (!tmp || tmp & (VM_FAULT.ERROR | VM_FAULT.NOPAGE)) {
        put_page(k, t, page);
        return tmp;
      }
    }
    ret |= finish_fault(vmf, true);
    if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE | VM_FAULT.RETRY)) {
      unlock_page(page);
      put_page(k, t, page);
      return ret;
    }
    // fault_dirty_shared_page()
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
      // vm_normal_page() is NULL (a VM_MIXEDMAP pfn, the zero page): wp_pfn_shared()
      t.enter('wp_pfn_shared');
      try {
        if (ops.pfn_mkwrite) {
          const ret = yield* ops.pfn_mkwrite(k, t, vmf);
          if (ret & (VM_FAULT.ERROR | VM_FAULT.NOPAGE)) return ret;
        }
        // finish_mkwrite_fault(): only if the PTE is still the one we faulted on
        const cur = vmf.vma.ptes.get(vmf.pgoff);
        if (cur !== pte) return VM_FAULT.NOPAGE;
        cur.writable = true;
        return 0;
      } finally {
        t.leave();
      }
    }
    // wp_page_shared(): page_mkwrite with the page, then make the PTE writable
    t.enter('wp_page_shared');
    try {
      const page = pte.page;
      vmf.page = page;
      get_page(page, k, t);
      if (ops.page_mkwrite) {
        const tmp = yield* do_page_mkwrite(k, t, vmf);
        if (!tmp || tmp & (VM_FAULT.ERROR | VM_FAULT.NOPAGE)) {
          put_page(k, t, page);
          return tmp;
        }
        const cur = vmf.vma.ptes.get(vmf.pgoff);
        if (cur !== pte) {
          // the PTE changed under us: let the access retry
          unlock_page(page);
          put_page(k, t, page);
          return 0;
        }
      }
      pte.writable = true;
      if (page.mapping) page.dirty = true;
      if (ops.page_mkwrite) unlock_page(page);
      put_page(k, t, page);
      return 0;
    } finally {
      t.leave();
    }
  } finally {
    t.leave();
  }
}

/** THP "madvise" (the model's setting): a VMA gets PMD faults if ->mmap asked for VM_HUGEPAGE. */
function transparent_hugepage_enabled(vma: Vma): boolean {
  return (vma.vm_flags & VM.HUGEPAGE) !== 0;
}

/** create_huge_pmd() (mm/memory.c, 4.13): ->huge_fault(PE_SIZE_PMD) for a file VMA, else VM_FAULT_FALLBACK. */
function* create_huge_pmd(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  const ops = vmf.vma.vm_ops!;
  if (!ops.huge_fault) return VM_FAULT.FALLBACK;
  vmf.pmd = true;
  const r = yield* ops.huge_fault(k, t, vmf);
  vmf.pmd = false;
  return r;
}

/** wp_huge_pmd(): a write to a read-only huge PMD goes to ->huge_fault again. */
function* wp_huge_pmd(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  return yield* create_huge_pmd(k, t, vmf);
}

/** handle_pte_fault(): no PTE -> do_fault; a write to a read-only PTE -> do_wp_page. */
function* handle_pte_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('handle_pte_fault');
  try {
    const pte = vmf.vma.ptes.get(vmf.pgoff);
    if (pte && pte.huge) return 0; // pmd_devmap_trans_unstable(): a huge PMD is (again) there, the access retries
    if (k.trace.enabled) k.trace.add(t, 'fault', F_FAULT, vmf.write, vmf.pgoff, pte ? (pte.page ? 'read-only page' : 'read-only pfn') : 'no PTE');
    if (!pte) {
      t.enter('do_fault');
      try {
        return vmf.write ? yield* do_shared_fault(k, t, vmf) : yield* do_read_fault(k, t, vmf);
      } finally {
        t.leave();
      }
    }
    if (vmf.write && !pte.writable) return yield* do_wp_page(k, t, vmf, pte);
    return 0;
  } finally {
    t.leave();
  }
}

/**
 * handle_mm_fault() for a shared file mapping: a PMD first where the PMD
 * is empty and the VMA wants huge pages (->huge_fault, falling back to
 * PTEs), a write to a read-only huge PMD through wp_huge_pmd(), else the
 * PTE level. Returns VM_FAULT_* bits.
 */
export function* handle_mm_fault(k: Kernel, t: Task, vma: Vma, pgoff: number, write: boolean): Gen<number> {
  t.enter('handle_mm_fault');
  t.enter('__handle_mm_fault');
  k.faultWrite.set(t, write);
  try {
    const vmf: Vmf = { vma, pgoff, write, page: null, pmd: false };
    const pte = vma.ptes.get(pgoff);
    if (pte && pte.huge) {
      if (write && !pte.writable) {
        const ret = yield* wp_huge_pmd(k, t, vmf);
        if (!(ret & VM_FAULT.FALLBACK)) return ret;
      } else return 0;
    } else if (!vma.pteTables.has(pmdRegion(vma, pgoff)) && transparent_hugepage_enabled(vma)) {
      const ret = yield* create_huge_pmd(k, t, vmf);
      if (!(ret & VM_FAULT.FALLBACK)) return ret;
    }
    return yield* handle_pte_fault(k, t, vmf);
  } finally {
    k.faultWrite.delete(t);
    t.leave();
    t.leave();
  }
}

/** user_copy()'s tags among the rejoin points (Kernel.rejoin). */
const REJOIN_LOAD = 0x10ad;
const REJOIN_STORE = 0x5702;

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
  const from = pos;
  const bufStart = bufOff;
  while (pos < end) {
    // each page starts afresh: what follows depends on where the copy is (in which mapping) and what it has
    // loaded (carried), not on the PTEs met before; fsx's code around the copy goes on from the op and those
    if (k.rejoin) k.rejoin(t, [write ? REJOIN_STORE : REJOIN_LOAD, vma.pgoff, vma.npages, from, end, buf.length, bufStart, pos]);
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
        yield* down_quiet(k, t, k.mmapSem, false);
        try {
          r = yield* handle_mm_fault(k, t, vma, pgoff, write);
        } finally {
          up_quiet(t, k.mmapSem, false);
        }
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
      const how: DataHow = pte.page ? (write ? 'store-cache' : 'load-cache') : pte.pfn === ZERO_PFN || pte.pfn === HUGE_ZERO_PFN ? 'load-zero' : write ? 'store-dax' : 'load-dax';
      if (how !== runHow) {
        if (runHow) k.trace.add(t, 'data', F_DATA, runHow, runStart, pos - runStart);
        runHow = how;
        runStart = pos;
      }
    }
    if (pte.pfn === ZERO_PFN || pte.pfn === HUGE_ZERO_PFN) {
      // the shared zero page (read-only: a write faulted above)
      buf.fill(0, bufOff, bufOff + n);
      if (k.carry) k.carry(t, null, inPage, n);
    } else {
      const mem = pte.page ? pte.page.data : k.media.data;
      const base = pte.page ? 0 : pte.pfn * PAGE_SIZE;
      if (write) mem.set(buf.subarray(bufOff, bufOff + n), base + inPage);
      else {
        buf.set(mem.subarray(base + inPage, base + inPage + n), bufOff);
        if (k.carry) k.carry(t, pte.page ? pte.page.data : pte.pfn, inPage, n);
      }
    }
    bufOff += n;
    pos += n;
  }
  if (runHow) k.trace.add(t, 'data', F_DATA, runHow, runStart, pos - runStart);
  return 0;
}
