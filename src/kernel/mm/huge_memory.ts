import type { Task } from '../../sched/task.js';
import { HUGE_ZERO_PFN, PMD_PAGES, VM_FAULT, type Kernel, type Vmf } from '../core.js';
import { pmdRegion, vpage, zap_huge_pmd } from './memory.js';

/**
 * mm/huge_memory.c: a PMD maps 512 pages at once. The model keeps a PMD as
 * the 512 PTEs of its region, each marked huge; clearing any of them
 * clears all.
 */

/** The first file page of the PMD region the fault is in. */
export function pmdFirstPgoff(vmf: Vmf): number {
  const vma = vmf.vma;
  return vma.pgoff + (pmdRegion(vma, vmf.pgoff) * PMD_PAGES - vma.vstart);
}

/** Whether the VMA covers the whole PMD region of the fault (dax_iomap_pmd_fault's VMA checks). */
export function pmdInsideVma(vmf: Vmf): boolean {
  const vma = vmf.vma;
  const start = pmdRegion(vma, vmf.pgoff) * PMD_PAGES;
  return start >= vma.vstart && start + PMD_PAGES <= vma.vstart + vma.npages;
}

/**
 * vmf_insert_pfn_pmd() -> insert_pfn_pmd() (4.13): map 512 blocks from
 * `pfn` with one PMD, writable and dirty for a write fault. A pmem pfn is
 * devmap, so none of its BUG_ONs fire on a VMA with or without
 * VM_MIXEDMAP.
 */
export function vmf_insert_pfn_pmd(k: Kernel, t: Task, vmf: Vmf, pfn: number, write: boolean): number {
  const vma = vmf.vma;
  const first = pmdFirstPgoff(vmf);
  zap_huge_pmd(k, t, vma, first);
  const objects = vma.inode.mapping.objects;
  for (let i = 0; i < PMD_PAGES; i++) vma.ptes.set(first + i, objects.pte(null, pfn + i, write, true));
  return VM_FAULT.NOPAGE;
}

/** Map the huge zero page read-only over the region (dax_pmd_load_hole's set_pmd_at); false if the PMD is not empty. */
export function set_huge_zero_pmd(vmf: Vmf): boolean {
  const vma = vmf.vma;
  const first = pmdFirstPgoff(vmf);
  if (vma.pteTables.has(pmdRegion(vma, vmf.pgoff)) || vma.ptes.get(first)?.huge) return false;
  const objects = vma.inode.mapping.objects;
  for (let i = 0; i < PMD_PAGES; i++) vma.ptes.set(first + i, objects.pte(null, HUGE_ZERO_PFN, false, true));
  return true;
}

/** split_huge_pmd() for a file VMA: the PMD is cleared and the next access faults PTEs in. */
export function split_huge_pmd(k: Kernel, t: Task, vmf: Vmf): void {
  const pte = vmf.vma.ptes.get(vmf.pgoff);
  if (pte && pte.huge) zap_huge_pmd(k, t, vmf.vma, vmf.pgoff);
}

/** The virtual page of the fault, for alignment checks. */
export function faultVpage(vmf: Vmf): number {
  return vpage(vmf.vma, vmf.pgoff);
}
