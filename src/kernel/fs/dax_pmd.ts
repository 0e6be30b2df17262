import type { Task } from '../../sched/task.js';
import { HOLE, HUGE_ZERO_PFN, PAGE_SIZE, PMD_PAGES, VM_FAULT, type DaxEntry, type Gen, type Kernel, type Page, type Vmf } from '../core.js';
import { V4_14 } from '../designs.js';
import { pmdFirstPgoff, pmdInsideVma, set_huge_zero_pmd, split_huge_pmd, vmf_insert_pfn_pmd } from '../mm/huge_memory.js';
import { pmdRegion } from '../mm/memory.js';
import { dax_insert_mapping_entry, grab_mapping_entry, put_locked_mapping_entry } from './dax.js';

/**
 * The PMD half of fs/dax.c (4.13, 4.14): a 2 MiB fault maps 512 blocks
 * with one PMD when the VMA and the file cover the whole aligned range and
 * the blocks are one 2 MiB-aligned extent (or all a hole: the huge zero
 * page); anything else falls back to PTEs.
 */

const F_PMD = (first: number, pfn: number, w: boolean): string =>
  `DAX maps pages ${first}..${first + PMD_PAGES - 1} with one PMD to ${pfn === HUGE_ZERO_PFN ? 'the huge zero page' : `pfns ${pfn}..${pfn + PMD_PAGES - 1}`}${w ? ' writable' : ''}`;

type Extent = { kind: 'mapped'; pfn: number } | { kind: 'hole' } | { kind: 'short' };

/**
 * ->iomap_begin for the 2 MiB at `first` (xfs_file_iomap_begin /
 * ext4_iomap_begin): one extent covering it all, or a shorter one. A write
 * over a hole allocates one aligned extent; over unwritten blocks DAX
 * zeroes and converts them.
 */
function iomap_pmd(k: Kernel, first: number, write: boolean): Extent {
  const ip = k.inode;
  const b0 = ip.blocks[first];
  let holes = 0;
  let unwritten = 0;
  let contiguous = b0 !== HOLE && b0 % PMD_PAGES === 0;
  for (let i = 0; i < PMD_PAGES; i++) {
    const b = ip.blocks[first + i];
    if (b === HOLE) holes++;
    else if (ip.unwritten[first + i]) unwritten++;
    if (b !== b0 + i) contiguous = false;
  }
  if (holes === PMD_PAGES) {
    if (!write) return { kind: 'hole' };
    const pfn = k.media.allocAligned(PMD_PAGES);
    for (let i = 0; i < PMD_PAGES; i++) ip.blocks[first + i] = pfn + i;
    return { kind: 'mapped', pfn };
  }
  if (holes > 0 || !contiguous) return { kind: 'short' };
  if (unwritten === PMD_PAGES) {
    if (!write) return { kind: 'hole' };
    k.media.data.fill(0, b0 * PAGE_SIZE, (b0 + PMD_PAGES) * PAGE_SIZE);
    ip.unwritten.fill(0, first, first + PMD_PAGES);
    return { kind: 'mapped', pfn: b0 };
  }
  if (unwritten > 0) return { kind: 'short' };
  return { kind: 'mapped', pfn: b0 };
}

/**
 * dax_iomap_pmd_fault(). Falls back (and splits the PMD) unless the PMD
 * lies inside the VMA and inside i_size; SIGBUS if it starts past EOF; the
 * entry must be grabbed as a PMD (any 4k entry in the range: fallback).
 */
export function* dax_iomap_pmd_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('dax_iomap_pmd_fault');
  let result: number = VM_FAULT.FALLBACK;
  try {
    const first = pmdFirstPgoff(vmf);
    if (k.tick()) yield;
    const maxPgoff = Math.floor((k.isize() - 1) / PAGE_SIZE);
    if (!pmdInsideVma(vmf)) return result;
    if (first > maxPgoff) {
      result = VM_FAULT.SIGBUS;
      return result;
    }
    if ((first | (PMD_PAGES - 1)) > maxPgoff) return result;
    const got = yield* grab_mapping_entry(k, t, first, true);
    if (typeof got === 'number') return result;
    let entry: DaxEntry | Page = got;
    if (k.v >= V4_14 && vmf.vma.pteTables.has(pmdRegion(vmf.vma, vmf.pgoff))) {
      // a PTE table went in meanwhile
      put_locked_mapping_entry(k, t, entry);
      result = 0;
      return result;
    }
    if (k.tick()) yield;
    const ext = iomap_pmd(k, first, vmf.write);
    if (ext.kind === 'mapped') {
      // dax_pmd_insert_mapping()
      entry = dax_insert_mapping_entry(k, t, vmf, entry, 'pmd', ext.pfn);
      result = vmf_insert_pfn_pmd(k, t, vmf, ext.pfn, vmf.write);
      if (k.trace.enabled) k.trace.add(t, 'fault', F_PMD, first, ext.pfn, vmf.write);
    } else if (ext.kind === 'hole') {
      // dax_pmd_load_hole()
      entry = dax_insert_mapping_entry(k, t, vmf, entry, 'hzp', HUGE_ZERO_PFN);
      if (set_huge_zero_pmd(vmf)) {
        result = VM_FAULT.NOPAGE;
        if (k.trace.enabled) k.trace.add(t, 'fault', F_PMD, first, HUGE_ZERO_PFN, false);
      }
    }
    put_locked_mapping_entry(k, t, entry);
    return result;
  } finally {
    if (result === VM_FAULT.FALLBACK) split_huge_pmd(k, t, vmf);
    t.leave();
  }
}
