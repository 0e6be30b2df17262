import type { Gen } from '../../sched/task.js';
import type { Task } from '../../sched/task.js';
import { Kernel, PAGE_SIZE, VM, VM_FAULT, type FsType, type Vma, type VmOps, type Vmf } from '../core.js';
import { dax_iomap_fault, dax_pfn_mkwrite } from '../fs/dax.js';
import { MMAPLOCK, fallocate, fs_lock, fs_unlock, fsync, read_iter, remap, setattr_size, write_iter, type FsNames } from '../fs/generic.js';
import { setattr_dax, type FlipNames } from '../fs/ioctl.js';
import { filemap_fault, lock_page, unlock_page } from '../mm/filemap.js';
import type { Page } from '../core.js';


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
  iolock: 'inode_lock',
  mmaplock: 'ext4_i_mmap_sem',
};

const FLIP: FlipNames = {
  ioctl: 'ext4_ioctl',
  setattr: 'ext4_ioctl_fssetxattr',
  invalidate: 'ext4_dax_invalidate',
  setflags: 'ext4_ioctl_setflags',
};

/** ext4_dax_fault(): i_mmap_sem shared and dax_iomap_fault, with no IS_DAX test (the vm_ops decided at mmap). */
function* ext4_dax_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('ext4_dax_fault');
  try {
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    const ret = yield* dax_iomap_fault(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

function* ext4_dax_pfn_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('ext4_dax_pfn_mkwrite');
  try {
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
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    const ret = yield* filemap_fault(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

/** ext4_page_mkwrite(): i_mmap_sem shared, lock vmf->page, check it is still the file's, dirty it. */
function* ext4_page_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('ext4_page_mkwrite');
  try {
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

export const ext4_dax_vm_ops: VmOps = {
  name: 'ext4_dax_vm_ops',
  fault: ext4_dax_fault,
  page_mkwrite: ext4_dax_fault,
  pfn_mkwrite: ext4_dax_pfn_mkwrite,
};

export const ext4_file_vm_ops: VmOps = {
  name: 'ext4_file_vm_ops',
  fault: ext4_filemap_fault,
  page_mkwrite: ext4_page_mkwrite,
};

/** ext4_file_mmap(): the vm_ops themselves are chosen by IS_DAX at mmap time. */
function* ext4_file_mmap(k: Kernel, t: Task, vma: Vma): Gen<number> {
  t.enter('ext4_file_mmap');
  try {
    if (k.tick()) yield;
    if (k.isDax(t)) {
      vma.vm_ops = ext4_dax_vm_ops;
      vma.vm_flags |= VM.MIXEDMAP | VM.HUGEPAGE;
    } else {
      vma.vm_ops = ext4_file_vm_ops;
    }
    return 0;
  } finally {
    t.leave();
  }
}

export const EXT4: FsType = {
  name: 'ext4',
  lockNames: ['i_rwsem', 'i_mmap_sem'],
  read_iter: (k, t, dst, dstOff, len, pos, direct) => read_iter(k, N, t, dst, dstOff, len, pos, direct),
  write_iter: (k, t, src, srcOff, len, pos, direct) => write_iter(k, N, t, src, srcOff, len, pos, direct),
  mmap: ext4_file_mmap,
  setattr_size: (k, t, size) => setattr_size(k, N, t, size),
  fallocate: (k, t, mode, off, len) => fallocate(k, N, t, mode, off, len),
  remap: (k, t, kind, off, len, dest) => remap(k, N, t, kind, off, len, dest),
  fsync: (k, t, start, end) => fsync(k, N, t, start, end),
  setxattr_dax: (k, t, dax) => setattr_dax(k, N, FLIP, t, dax),
};
