import type { Task } from '../../sched/task.js';
import { HOLE, PAGE_SIZE, type Inode, type Kernel, type Media } from '../core.js';

/**
 * The block map: which physical block backs each file block, and whether
 * it is written. The extent-level work of xfs_bmapi / ext4_map_blocks,
 * without the transactions. One block per page (DAX needs bsize == PAGE_SIZE).
 */

/** Map (allocating if needed) file block b for writing; returns the physical block. */
export function bmapAllocWrite(ip: Inode, media: Media, b: number): number {
  let p = ip.blocks[b];
  if (p === HOLE) {
    p = media.alloc();
    ip.blocks[b] = p;
  } else if (ip.unwritten[b]) {
    media.block(p).fill(0);
  }
  ip.unwritten[b] = 0;
  return p;
}

/** Copy file bytes [pos, pos+len) of the media view (holes and unwritten read as zero) into dst. */
export function mediaRead(ip: Inode, media: Media, dst: Uint8Array, dstOff: number, pos: number, len: number): void {
  while (len > 0) {
    const b = Math.floor(pos / PAGE_SIZE);
    const inBlock = pos - b * PAGE_SIZE;
    const n = Math.min(len, PAGE_SIZE - inBlock);
    const p = ip.blocks[b];
    if (p === HOLE || ip.unwritten[b]) dst.fill(0, dstOff, dstOff + n);
    else dst.set(media.data.subarray(p * PAGE_SIZE + inBlock, p * PAGE_SIZE + inBlock + n), dstOff);
    pos += n;
    dstOff += n;
    len -= n;
  }
}

/** Tell explore's state hash (Kernel.carry) that task t copied file bytes [pos, pos+len) from media to its caller, block by block. */
export function mediaCarry(k: Kernel, t: Task, pos: number, len: number): void {
  const carry = k.carry;
  if (!carry) return;
  const ip = k.inode;
  while (len > 0) {
    const b = Math.floor(pos / PAGE_SIZE);
    const inBlock = pos - b * PAGE_SIZE;
    const n = Math.min(len, PAGE_SIZE - inBlock);
    const p = ip.blocks[b];
    carry(t, p === HOLE || ip.unwritten[b] ? null : p, inBlock, n);
    pos += n;
    len -= n;
  }
}

/** Write src into file bytes [pos, pos+len) on media, allocating blocks. */
export function mediaWrite(ip: Inode, media: Media, src: Uint8Array, srcOff: number, pos: number, len: number): void {
  while (len > 0) {
    const b = Math.floor(pos / PAGE_SIZE);
    const inBlock = pos - b * PAGE_SIZE;
    const n = Math.min(len, PAGE_SIZE - inBlock);
    const p = bmapAllocWrite(ip, media, b);
    media.data.set(src.subarray(srcOff, srcOff + n), p * PAGE_SIZE + inBlock);
    pos += n;
    srcOff += n;
    len -= n;
  }
}

/** Zero file bytes [pos, end) on media where blocks are written (holes stay holes). */
export function mediaZero(ip: Inode, media: Media, pos: number, end: number): void {
  while (pos < end) {
    const b = Math.floor(pos / PAGE_SIZE);
    const inBlock = pos - b * PAGE_SIZE;
    const n = Math.min(end - pos, PAGE_SIZE - inBlock);
    const p = ip.blocks[b];
    if (p !== HOLE && !ip.unwritten[b]) media.data.fill(0, p * PAGE_SIZE + inBlock, p * PAGE_SIZE + inBlock + n);
    pos += n;
  }
}

/** Free the blocks wholly inside [start, end) (byte offsets). */
export function bmapPunch(ip: Inode, media: Media, start: number, end: number): void {
  const first = Math.ceil(start / PAGE_SIZE);
  const last = Math.floor(end / PAGE_SIZE);
  for (let b = first; b < last && b < ip.nblocks; b++) {
    const p = ip.blocks[b];
    if (p !== HOLE) media.release(p);
    ip.blocks[b] = HOLE;
    ip.unwritten[b] = 0;
  }
}

/** Allocate unwritten blocks over [start, end) where there are holes (fallocate). */
export function bmapPrealloc(ip: Inode, media: Media, start: number, end: number): void {
  const first = Math.floor(start / PAGE_SIZE);
  const last = Math.ceil(end / PAGE_SIZE);
  for (let b = first; b < last && b < ip.nblocks; b++) {
    if (ip.blocks[b] === HOLE) {
      ip.blocks[b] = media.alloc();
      ip.unwritten[b] = 1;
    }
  }
}

/** Turn whole blocks of [start, end) into unwritten extents (zero range). */
export function bmapZeroUnwritten(ip: Inode, media: Media, start: number, end: number): void {
  const first = Math.ceil(start / PAGE_SIZE);
  const last = Math.floor(end / PAGE_SIZE);
  for (let b = first; b < last && b < ip.nblocks; b++) {
    if (ip.blocks[b] === HOLE) ip.blocks[b] = media.alloc();
    ip.unwritten[b] = 1;
  }
}

/** Remove blocks [off, off+len) and shift the rest down (collapse range; block aligned). */
export function bmapCollapse(ip: Inode, media: Media, off: number, len: number): void {
  const first = off / PAGE_SIZE;
  const n = len / PAGE_SIZE;
  const total = ip.nblocks;
  for (let b = first; b < first + n && b < total; b++) if (ip.blocks[b] !== HOLE) media.release(ip.blocks[b]);
  ip.blocks.copyWithin(first, first + n, total);
  ip.unwritten.copyWithin(first, first + n, total);
  ip.blocks.fill(HOLE, total - n);
  ip.unwritten.fill(0, total - n);
}

/** Shift blocks from off up by len, leaving a hole (insert range; block aligned). */
export function bmapInsert(ip: Inode, media: Media, off: number, len: number): void {
  const first = off / PAGE_SIZE;
  const n = len / PAGE_SIZE;
  const total = ip.nblocks;
  for (let b = total - n; b < total; b++) if (ip.blocks[b] !== HOLE) media.release(ip.blocks[b]);
  ip.blocks.copyWithin(first + n, first, total - n);
  ip.unwritten.copyWithin(first + n, first, total - n);
  ip.blocks.fill(HOLE, first, first + n);
  ip.unwritten.fill(0, first, first + n);
}
