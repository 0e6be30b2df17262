import type { Gen } from '../sched/task.js';
import { E, type FsxFile, type Mapping } from './file.js';
import { FALLOC } from './ops.js';

/**
 * A plain in-memory file with no kernel behind it: the reference the kernel
 * model must agree with when no flag flips, and the engine's unit-test file.
 */
export class MemFile implements FsxFile {
  private data: Uint8Array;
  private len = 0;

  constructor(capacity: number, initial?: Uint8Array) {
    this.data = new Uint8Array(Math.max(capacity, 4096));
    if (initial) this.setContents(initial);
  }

  private setContents(bytes: Uint8Array): void {
    this.grow(bytes.length);
    this.data.set(bytes);
    this.len = bytes.length;
  }

  private grow(n: number): void {
    if (n <= this.data.length) return;
    const d = new Uint8Array(Math.max(n, this.data.length * 2));
    d.set(this.data.subarray(0, this.len));
    this.data = d;
  }

  private resize(n: number): void {
    if (n > this.len) {
      this.grow(n);
      this.data.fill(0, this.len, n);
    }
    this.len = n;
  }

  *open(): Gen<number> {
    return 0;
  }
  *close(): Gen<number> {
    return 0;
  }
  *dropCaches(): Gen<number> {
    return 0;
  }
  *size(): Gen<number> {
    return this.len;
  }
  *pread(dst: Uint8Array, dstOff: number, len: number, off: number): Gen<number> {
    const n = Math.max(0, Math.min(len, this.len - off));
    dst.set(this.data.subarray(off, off + n), dstOff);
    return n;
  }
  *pwrite(src: Uint8Array, srcOff: number, len: number, off: number): Gen<number> {
    if (off + len > this.len) this.resize(off + len);
    this.data.set(src.subarray(srcOff, srcOff + len), off);
    return len;
  }
  *ftruncate(size: number): Gen<number> {
    this.resize(size);
    return 0;
  }
  *fallocate(mode: number, off: number, len: number): Gen<number> {
    const end = off + len;
    if (mode & FALLOC.PUNCH_HOLE) {
      this.data.fill(0, off, Math.min(end, this.len));
    } else if (mode & FALLOC.ZERO_RANGE) {
      this.data.fill(0, off, Math.min(end, this.len));
      if (!(mode & FALLOC.KEEP_SIZE) && end > this.len) this.resize(end);
    } else if (mode & FALLOC.COLLAPSE_RANGE) {
      if (end >= this.len) return -E.EINVAL;
      this.data.copyWithin(off, end, this.len);
      this.len -= len;
    } else if (mode & FALLOC.INSERT_RANGE) {
      if (off >= this.len) return -E.EINVAL;
      const old = this.len;
      this.grow(old + len);
      this.data.copyWithin(off + len, off, old);
      this.data.fill(0, off, off + len);
      this.len = old + len;
    } else if (!(mode & FALLOC.KEEP_SIZE) && end > this.len) {
      this.resize(end);
    }
    return 0;
  }
  *copyFileRange(off: number, dest: number, len: number): Gen<number> {
    const n = Math.max(0, Math.min(len, this.len - off));
    if (dest + n > this.len) this.resize(dest + n);
    this.data.copyWithin(dest, off, off + n);
    return n;
  }
  *cloneRange(off: number, len: number, dest: number): Gen<number> {
    const r = yield* this.copyFileRange(off, dest, len);
    return r < 0 ? r : 0;
  }
  *dedupeRange(): Gen<number> {
    return 0;
  }
  *exchangeRange(off: number, len: number, dest: number): Gen<number> {
    const tmp = this.data.slice(off, off + len);
    this.data.copyWithin(off, dest, dest + len);
    this.data.set(tmp, dest);
    return 0;
  }
  *fsync(): Gen<number> {
    return 0;
  }
  /** A plain file with no kernel behind it refuses nothing. */
  *probe(): Gen<number> {
    return 0;
  }
  *mmap(off: number, len: number): Gen<Mapping | number> {
    return { pgoff: off, length: len };
  }
  *mapRead(m: Mapping, at: number, dst: Uint8Array, dstOff: number, len: number): Gen<number> {
    const off = m.pgoff + at;
    // bytes past EOF inside the last page read as zero, as the VM provides them
    for (let i = 0; i < len; i++) dst[dstOff + i] = off + i < this.len ? this.data[off + i] : 0;
    return 0;
  }
  *mapWrite(m: Mapping, at: number, src: Uint8Array, srcOff: number, len: number): Gen<number> {
    const off = m.pgoff + at;
    const inFile = Math.max(0, Math.min(len, this.len - off));
    this.data.set(src.subarray(srcOff, srcOff + inFile), off);
    return 0;
  }
  *msync(): Gen<number> {
    return 0;
  }
  *munmap(): Gen<number> {
    return 0;
  }
  contents(): Uint8Array {
    return this.data.slice(0, this.len);
  }
}
