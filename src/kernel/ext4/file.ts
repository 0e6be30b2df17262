import type { Task } from '../../sched/task.js';
import { Kernel, PAGE_SIZE, VM, VM_FAULT, type FsType, type Gen, type Vma, type VmOps, type Vmf } from '../core.js';
import { V4_14, V5_8 } from '../designs.js';
import { dax_iomap_fault, dax_pfn_mkwrite } from '../fs/dax.js';
import {
  IOLOCK,
  MMAPLOCK,
  buffered_read,
  dax_read,
  dio_read,
  fallocate,
  fs_lock,
  fs_unlock,
  fsync,
  remap,
  setattr_size,
  write_iter,
  writepages,
  type FsNames,
} from '../fs/generic.js';
import { down_read, up_read } from '../locks.js';
import { filemap_fault, lock_page, unlock_page } from '../mm/filemap.js';
import { ext4_should_use_dax } from './inode.js';
import { ext4_chattr, ext4_chattr_wants_dax, ext4_ioctl_fssetxattr } from './ioctl.js';
import type { Page } from '../core.js';

/**
 * fs/ext4/file.c by release. ext4 decides DAX for mappings at mmap time by
 * the vm_ops it picks (ext4_dax_vm_ops or ext4_file_vm_ops) and its DAX
 * fault handlers never test IS_DAX; a DAX read re-tests IS_DAX under the
 * shared inode lock and falls back to a buffered read, and a buffered read
 * takes no inode lock at all.
 */

const N: FsNames = {
  read_iter: 'ext4_file_read_iter',
  dax_read: 'ext4_dax_read_iter',
  buffered_read: 'generic_file_read_iter',
  dio_read: 'ext4_direct_IO',
  write_iter: 'ext4_file_write_iter',
  dax_write: 'ext4_dax_write_iter',
  buffered_write: '__generic_file_write_iter',
  dio_write: 'ext4_direct_IO',
  setattr: 'ext4_setattr',
  setattr_size: 'ext4_truncate',
  fallocate: 'ext4_fallocate',
  remap: 'ext4_copy_file_range',
  fsync: 'ext4_sync_file',
  writepages: 'ext4_writepages',
  iolock: 'inode_lock',
  mmaplock: 'ext4_i_mmap_sem',
};

/**
 * ext4_file_read_iter() (4.13-5.11): IS_DAX tested with no lock held. DAX:
 * ext4_dax_read_iter takes inode_lock_shared and re-checks IS_DAX, falling
 * back to generic_file_read_iter if it is gone. Otherwise
 * generic_file_read_iter: a buffered read takes no inode lock; a direct
 * read takes it shared in ext4_direct_IO. With readIsDax "locked" the
 * decision is made once, under inode_lock_shared, and the read done there.
 */
function* ext4_file_read_iter(k: Kernel, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number, direct: boolean): Gen<number> {
  t.enter(N.read_iter);
  try {
    if (k.design.readIsDax === 'locked') {
      yield* fs_lock(k, N, t, IOLOCK, false);
      if (k.tick()) yield;
      const dax = k.isDax(t);
      const ret = dax
        ? yield* dax_read(k, N, t, dst, dstOff, len, pos)
        : direct
          ? yield* dio_read(k, N, t, dst, dstOff, len, pos)
          : yield* buffered_read(k, N, t, dst, dstOff, len, pos);
      yield* fs_unlock(k, t, IOLOCK, false);
      return ret;
    }
    if (k.tick()) yield;
    if (k.isDax(t)) {
      t.enter('ext4_dax_read_iter');
      try {
        yield* fs_lock(k, N, t, IOLOCK, false);
        // "Recheck under inode lock - at this point we are sure it cannot change anymore"
        if (k.tick()) yield;
        if (k.isDax(t)) {
          const ret = yield* dax_read(k, N, t, dst, dstOff, len, pos);
          yield* fs_unlock(k, t, IOLOCK, false);
          return ret;
        }
        yield* fs_unlock(k, t, IOLOCK, false);
      } finally {
        t.leave();
      }
      // "Fallback to buffered IO in case we cannot support DAX"
    }
    if (direct) {
      yield* fs_lock(k, N, t, IOLOCK, false);
      const ret = yield* dio_read(k, N, t, dst, dstOff, len, pos);
      yield* fs_unlock(k, t, IOLOCK, false);
      return ret;
    }
    return yield* buffered_read(k, N, t, dst, dstOff, len, pos);
  } finally {
    t.leave();
  }
}

/**
 * ext4_dax_huge_fault() (4.13-5.11), ext4_dax_fault for PTEs: i_mmap_sem
 * shared (a journal handle for writes) and dax_iomap_fault, with no IS_DAX
 * test: the vm_ops chosen at mmap decided.
 */
function* ext4_dax_huge_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter(vmf.pmd ? 'ext4_dax_huge_fault' : 'ext4_dax_fault');
  try {
    if (vmf.write && k.tick()) yield; // sb_start_pagefault(), file_update_time()
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    const ret = yield* dax_iomap_fault(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

/** ext4_dax_pfn_mkwrite() (4.13): i_mmap_sem shared, SIGBUS past EOF, dax_pfn_mkwrite. 4.14 uses ext4_dax_fault instead. */
function* ext4_dax_pfn_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('ext4_dax_pfn_mkwrite');
  try {
    if (k.tick()) yield; // sb_start_pagefault(), file_update_time()
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    if (k.tick()) yield;
    const size = Math.ceil(k.isize() / PAGE_SIZE);
    const ret = vmf.pgoff >= size ? VM_FAULT.SIGBUS : yield* dax_pfn_mkwrite(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

/** ext4_filemap_fault(): i_mmap_sem shared around filemap_fault. */
function* ext4_filemap_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('ext4_filemap_fault');
  try {
    yield* down_read(k, t, k.inode.mmaplock, N.mmaplock);
    const ret = yield* filemap_fault(k, t, vmf);
    yield* up_read(k, t, k.inode.mmaplock);
    return ret;
  } finally {
    t.leave();
  }
}

/** ext4_page_mkwrite(): i_mmap_sem shared, lock vmf->page, check it is still the file's and inside i_size, dirty it. */
function* ext4_page_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('ext4_page_mkwrite');
  try {
    if (k.tick()) yield; // sb_start_pagefault(), file_update_time()
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    yield* lock_page(k, t, vmf.page);
    const page = vmf.page as Page;
    if (k.tick()) yield;
    const size = k.isize();
    let ret: number = VM_FAULT.LOCKED;
    if (page.mapping !== k.inode.mapping || page.index * PAGE_SIZE > size) {
      unlock_page(page);
      ret = VM_FAULT.NOPAGE;
    } else page.dirty = true;
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

const ext4_dax_vm_ops_413: VmOps = {
  name: 'ext4_dax_vm_ops',
  fault: ext4_dax_huge_fault,
  huge_fault: ext4_dax_huge_fault,
  page_mkwrite: ext4_dax_huge_fault,
  pfn_mkwrite: ext4_dax_pfn_mkwrite,
};

const ext4_dax_vm_ops_414: VmOps = {
  name: 'ext4_dax_vm_ops',
  fault: ext4_dax_huge_fault,
  huge_fault: ext4_dax_huge_fault,
  page_mkwrite: ext4_dax_huge_fault,
  pfn_mkwrite: ext4_dax_huge_fault,
};

export const ext4_file_vm_ops: VmOps = {
  name: 'ext4_file_vm_ops',
  fault: ext4_filemap_fault,
  map_pages: true,
  page_mkwrite: ext4_page_mkwrite,
};

/**
 * ext4_file_mmap(): the vm_ops themselves are chosen by IS_DAX at mmap
 * time; a DAX mapping also gets VM_MIXEDMAP | VM_HUGEPAGE (VM_HUGEPAGE
 * alone from 4.15).
 */
function* ext4_file_mmap(k: Kernel, t: Task, vma: Vma): Gen<number> {
  t.enter('ext4_file_mmap');
  try {
    if (k.tick()) yield;
    if (k.isDax(t)) {
      vma.vm_ops = k.v >= V4_14 ? ext4_dax_vm_ops_414 : ext4_dax_vm_ops_413;
      vma.vm_flags |= k.v >= V5_8 ? VM.HUGEPAGE : VM.MIXEDMAP | VM.HUGEPAGE;
    } else {
      vma.vm_ops = ext4_file_vm_ops;
    }
    return 0;
  } finally {
    t.leave();
  }
}

/** ext4_file_mmap()'s settings for a DAX or non-DAX inode, applied to an existing VMA (the updateVmas design knob). */
function ext4_vma_mode(k: Kernel, vma: Vma, dax: boolean): void {
  const bits = k.v >= V5_8 ? VM.HUGEPAGE : VM.MIXEDMAP | VM.HUGEPAGE;
  vma.vm_ops = dax ? (k.v >= V4_14 ? ext4_dax_vm_ops_414 : ext4_dax_vm_ops_413) : ext4_file_vm_ops;
  vma.vm_flags = dax ? vma.vm_flags | bits : vma.vm_flags & ~bits;
}

/** ext4_writepages(): s_journal_flag_rwsem shared around the generic writeback. */
function* ext4_writepages(k: Kernel, t: Task, start: number, end: number, sync: boolean): Gen<number> {
  yield* down_read(k, t, k.journalFlagSem, 'percpu_down_read');
  const r = yield* writepages(k, N, t, start, end, sync);
  yield* up_read(k, t, k.journalFlagSem);
  return r;
}

export const EXT4: FsType = {
  name: 'ext4',
  lockNames: ['i_rwsem', 'i_mmap_sem'],
  read_iter: ext4_file_read_iter,
  write_iter: (k, t, src, srcOff, len, pos, direct) => write_iter(k, N, t, src, srcOff, len, pos, direct),
  mmap: ext4_file_mmap,
  vmaMode: ext4_vma_mode,
  setattr_size: (k, t, size) => setattr_size(k, N, t, size),
  fallocate: (k, t, mode, off, len) => fallocate(k, N, t, mode, off, len),
  remap: (k, t, kind, off, len, dest) => remap(k, N, t, kind, off, len, dest),
  fsync: (k, t, start, end) => fsync(k, N, t, start, end),
  writepages: ext4_writepages,
  setxattr_dax: ext4_ioctl_fssetxattr,
  chattr: ext4_chattr,
  chattrWantsDax: ext4_chattr_wants_dax,
  loadDax: ext4_should_use_dax,
};
