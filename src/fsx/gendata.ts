/**
 * fsx's written data: op number t writes byte (t + original_buf[o]) at odd
 * offsets o and t at even ones (mod 256). That is one byte-wise add of t to
 * a fixed "odd bytes of original_buf" image, which a 16-byte SIMD add does
 * fast; fsx generates half a gigabyte of it per 100000 ops, so this is the
 * engine's hottest loop. Without WebAssembly SIMD a plain loop does the same.
 */
import type { GlibcRandom } from './random.js';
/**
 * A tiny WebAssembly module, encoded by hand:
 *   (func (export "f") (param $dst i32) (param $src i32) (param $n i32) (param $t i32)
 *     (local $i i32) (local $v v128)
 *     v = i8x16.splat(t)
 *     for (i = 0; i < n; i += 16) v128.store(dst + i, i8x16.add(v128.load(src + i), v)))
 * with its memory imported as e.m.
 */
const WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // type section: (i32 i32 i32 i32) -> ()
  0x01, 0x08, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00,
  // import section: memory e.m, min 1 page
  0x02, 0x08, 0x01, 0x01, 0x65, 0x01, 0x6d, 0x02, 0x00, 0x01,
  // function section: one function of type 0
  0x03, 0x02, 0x01, 0x00,
  // export section: "f" = function 0
  0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00,
  // code section
  0x0a, 0x3a, 0x01, 0x38,
  0x02, 0x01, 0x7f, 0x01, 0x7b, // locals: i32 $i, v128 $v
  0x20, 0x03, 0xfd, 0x0f, 0x21, 0x05, // v = i8x16.splat(t)
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x04, 0x20, 0x02, 0x4f, 0x0d, 0x01, // br_if 1 (i >= n)
  0x20, 0x00, 0x20, 0x04, 0x6a, // dst + i
  0x20, 0x01, 0x20, 0x04, 0x6a, 0xfd, 0x00, 0x00, 0x00, // v128.load(src + i)
  0x20, 0x05, 0xfd, 0x6e, // i8x16.add v
  0xfd, 0x0b, 0x00, 0x00, // v128.store
  0x20, 0x04, 0x41, 0x10, 0x6a, 0x21, 0x04, // i += 16
  0x0c, 0x00, 0x0b, 0x0b, 0x0b, // br 0, end loop, end block, end
]);

type AddFn = (dst: number, src: number, n: number, t: number) => void;

/** The compiled module (immutable, so one per thread serves every run). */
let compiled: WebAssembly.Module | null | undefined;

function instantiate(memory: WebAssembly.Memory): AddFn | null {
  try {
    if (compiled === undefined) {
      try {
        compiled = new WebAssembly.Module(WASM);
      } catch {
        compiled = null;
      }
    }
    if (!compiled) return null;
    const mod = compiled;
    const inst = new WebAssembly.Instance(mod, { e: { m: memory } });
    return inst.exports.f as AddFn;
  } catch {
    return null;
  }
}

/**
 * Memory for DataGen that one thread can hand from run to run: a sweep's
 * worker runs thousands of seeds, and a fresh WebAssembly memory per seed
 * costs the whole process address-space work (every thread pays for its
 * unmapping). Runs in one thread are sequential, so they can take turns.
 */
/** fsx's original_buf: n bytes of random() & 255, as fsx fills it at start-up. */
export function makeOriginal(rnd: GlibcRandom, n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = rnd.next() & 255;
  return bytes;
}

export class GenArena {
  memory: WebAssembly.Memory | null = null;
  add: AddFn | null = null;
  /** The last original buffer made, with the generator's state before and after (explore runs one program again and again). */
  private orig: { n: number; before: { r: Int32Array; i: number }; after: { r: Int32Array; i: number }; bytes: Uint8Array } | null = null;

  /**
   * fsx's original_buf: n bytes of random() & 255 (fsx fills it at start-up).
   * When the generator is where it was when the last one was made, that one
   * is handed out again (the same array: nobody writes to it) and the
   * generator moved on as making it did.
   */
  original(rnd: GlibcRandom, n: number): Uint8Array {
    const c = this.orig;
    if (c && c.n === n && rnd.isAt(c.before)) {
      rnd.restore(c.after);
      return c.bytes;
    }
    const before = rnd.save();
    const bytes = makeOriginal(rnd, n);
    this.orig = { n, before, after: rnd.save(), bytes };
    return bytes;
  }

  /** The original buffer whose odd-bytes image the memory holds from `oddAt` on (DataGen's), or null. */
  oddOf: Uint8Array | null = null;
  oddAt = 0;

  /** A memory of at least `bytes`, zeroed over the first `zero` bytes (all of it when it is new). */
  take(bytes: number, zero = bytes): { memory: WebAssembly.Memory; add: AddFn | null } {
    const pages = Math.ceil(bytes / 65536);
    if (!this.memory || this.memory.buffer.byteLength < pages * 65536) {
      this.memory = new WebAssembly.Memory({ initial: pages });
      this.add = instantiate(this.memory);
      this.oddOf = null;
    } else {
      new Uint8Array(this.memory.buffer, 0, zero).fill(0);
    }
    return { memory: this.memory, add: this.add };
  }
}

/** The good buffer and its generator. */
export class DataGen {
  /** fsx's good_buf: maxfilelen + writebdy bytes. */
  readonly good: Uint8Array;
  /** original_buf with its even bytes zeroed. */
  private readonly oddOrig: Uint8Array;
  private readonly add: AddFn | null;
  private readonly goodAt: number;
  private readonly oddAt: number;

  constructor(
    readonly original: Uint8Array,
    goodLen: number,
    useSimd = true,
    arena?: GenArena,
  ) {
    const n = original.length;
    const round = (x: number): number => (x + 15) & ~15;
    const bytes = round(goodLen) + round(n) + 32;
    let memory: WebAssembly.Memory | null = null;
    let add: AddFn | null = null;
    const oddAt = round(goodLen) + 16;
    // the arena's memory may still hold this original's odd-bytes image: then only the good buffer is zeroed
    const reuse = useSimd && arena !== undefined && arena.oddOf === original && arena.oddAt === oddAt;
    if (useSimd && arena) ({ memory, add } = arena.take(bytes, reuse ? oddAt : bytes));
    else if (useSimd) {
      memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
      add = instantiate(memory);
    }
    const buf = add && memory ? memory.buffer : new ArrayBuffer(bytes);
    this.add = add;
    this.goodAt = 0;
    this.oddAt = oddAt;
    this.good = new Uint8Array(buf, this.goodAt, goodLen);
    this.oddOrig = new Uint8Array(buf, this.oddAt, n);
    const odd = this.oddOrig;
    if (!reuse) {
      for (let o = 1; o < n; o += 2) odd[o] = original[o];
      if (arena && add) {
        arena.oddOf = original;
        arena.oddAt = oddAt;
      }
    }
  }

  /** gendata(): write op t's bytes at [offset, offset + size) of the good buffer. */
  fill(offset: number, size: number, t: number): void {
    const good = this.good;
    const odd = this.oddOrig;
    let i = offset;
    const end = offset + size;
    if (this.add) {
      const n = size & ~15;
      if (n) this.add(this.goodAt + offset, this.oddAt + offset, n, t);
      i = offset + n;
    }
    for (; i < end; i++) good[i] = odd[i] + t;
  }
}
