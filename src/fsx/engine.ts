import type { Gen } from '../sched/task.js';
import { E, strerror, type Feature, type FsxFile, type Mapping } from './file.js';
import type { ParsedOp } from './fsxops.js';
import { DataGen, makeOriginal, type GenArena } from './gendata.js';
import { GlibcRandom } from './random.js';
import { OpLog, describeEntry, formatOpsLine } from './oplog.js';
import {
  FALLOC,
  opArgsCount,
  FL,
  OP,
  OP_MAX_FULL,
  OP_MAX_INTEGRITY,
  OP_MAX_LITE,
  RWF_ATOMIC,
  RWF_DONTCACHE,
} from './ops.js';
import type { FsxOptions } from './options.js';

/** Where fsx's words go. */
export interface FsxOutput {
  /** fsx's prt(): standard output (with the -j prefix) and the .fsxlog. */
  prt(s: string): void;
  /** fsx's warn(): standard error. */
  warn(s: string): void;
  /** fsx's plain fprintf(stderr, ...) (its feature probes' messages); dropped when absent. */
  stderr?(s: string): void;
  /** Write the .fsxops file; returns an errno-style message on failure, or null. */
  writeOps(lines: string[]): string | null;
  /** Write the .fsxgood file. */
  writeGood(buf: Uint8Array): void;
}

/** fsx would exit(status) here. */
export class FsxExit extends Error {
  constructor(
    readonly status: number,
    readonly check: string,
  ) {
    super(`fsx exit ${status} (${check})`);
    this.name = 'FsxExit';
  }
}

/** An exact replay met an op line its recorded config does not produce. */
export class ReplayDiverged extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayDiverged';
  }
}

/** Names of fsx's checks, by exit status, for summaries. */
export const FSX_CHECKS: Record<number, string> = {
  100: 'replay parse error',
  110: 'READ BAD DATA',
  120: 'Size error',
  141: 'short read',
  151: 'short write',
  152: 'fsync failed',
  160: 'truncate failed',
  161: 'fallocate failed',
  171: 'writefileimage failed',
  172: 'writefileimage failed',
  173: 'writefileimage failed',
  180: 'close failed',
  181: 'drop_caches failed',
  182: 'open failed',
  190: 'mmap failed',
  191: 'munmap failed',
  200: 'lite file size bug',
  201: 'mapwrite ftruncate failed',
  202: 'mmap failed',
  203: 'msync failed',
  204: 'munmap failed',
  205: 'non-zero data past EOF',
  149: 'lite file size bug',
};

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);
const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** Extra daxfsx data to put on '#' lines of a .fsxops file. */
export type OpsHeader = () => string[];

/**
 * The fsx engine: fsx's op stream, good buffer and checks, driving an
 * FsxFile through generator "system calls" so a scheduler can interleave it
 * with other tasks.
 */
export class FsxEngine {
  /** The options; the start-up probes turn off what the kernel refuses (a copy: the caller's stay as given). */
  readonly opts: FsxOptions;
  readonly rnd: GlibcRandom;
  readonly log = new OpLog();
  original!: Uint8Array;
  good!: Uint8Array;
  private gen!: DataGen;
  private temp!: Uint8Array;
  private checkBuf: Uint8Array | undefined;

  fileSize = 0;
  biggest = 0;
  testcalls = 0;
  private numopsLeft: number;
  private deadline = 0;
  private closeopen = false;
  private debug: boolean;
  badoff = -1;
  private maxfilelen: number;
  private readonly pageMask: number;
  private replay: ParsedOp[] | undefined;
  private replayPos = 0;
  private replayError: Error | undefined;
  /** Called after each test() with the op number; the run driver hooks progress here. */
  onOp: ((testcalls: number) => void) | undefined;
  /**
   * Called when an op has been drawn (or read from the replay file) and is
   * about to run, with its number and the index its entry will have in the
   * op log (the run marks op boundaries in the trace here).
   */
  onOpStart: ((testcalls: number, logIndex: number) => void) | undefined;
  /** The range fsx's last failed READ BAD DATA check compared, and the first and last bytes that differed. */
  badRead: { offset: number; size: number; first: number; last: number; count: number } | undefined;
  /** Whether each op is enabled (the disabling flags). */
  private readonly enabled: boolean[];
  /** The op number whose data writes use (testcalls, or a script's recorded number). */
  private dataTc = 0;
  /** The op the current test() ran after the disabling flags (-1: none, it was skipped). */
  private ranOp = -1;
  /** Every op that ran, with the op number its data came from (a script of the run), when asked for. */
  private kept: ParsedOp[] | undefined;
  private keepLimit = 0;
  /** An exact replay: the op lines the recorded config must produce again, from op `firstOp` on. */
  private expect: { ops: ParsedOp[]; next: number; firstOp: number; file: string } | undefined;
  /** Memory to reuse for the good buffer (a sweep worker's, across its seeds). */
  arena: GenArena | undefined;
  /** The op being executed (for reports). */
  currentOp = -1;

  constructor(
    opts: FsxOptions,
    readonly file: FsxFile,
    readonly out: FsxOutput,
    readonly fname: string,
    readonly goodfile: string,
    readonly opsHeader: OpsHeader = () => [],
  ) {
    this.opts = { ...opts };
    this.rnd = new GlibcRandom(opts.seed);
    this.numopsLeft = opts.numops;
    this.debug = opts.debug;
    this.maxfilelen = opts.maxfilelen;
    this.pageMask = opts.pageSize - 1;
    const on: boolean[] = [];
    on[OP.FALLOCATE] = opts.fallocateCalls;
    on[OP.PUNCH_HOLE] = opts.punchHoleCalls;
    on[OP.ZERO_RANGE] = opts.zeroRangeCalls;
    on[OP.COLLAPSE_RANGE] = opts.collapseRangeCalls;
    on[OP.INSERT_RANGE] = opts.insertRangeCalls;
    on[OP.WRITE_ATOMIC] = opts.atomicWrites;
    on[OP.EXCHANGE_RANGE] = opts.exchangeRangeCalls;
    on[OP.CLONE_RANGE] = opts.cloneRangeCalls;
    on[OP.DEDUPE_RANGE] = opts.dedupeRangeCalls;
    on[OP.COPY_RANGE] = opts.copyRangeCalls;
    for (let op = 0; op <= OP.FSYNC; op++) on[op] ??= true;
    this.enabled = on;
    // --duration: milliseconds, so that a run of N seconds takes N seconds (not up to N+1, as whole seconds would)
    if (opts.durationSec > 0) this.deadline = performance.now() + opts.durationSec * 1000;
  }

  get maxFileLen(): number {
    return this.maxfilelen;
  }

  /** Whether fsx prints its -d lines now (-d, or -D from its op on; never for the ops -b simulates). */
  get debugging(): boolean {
    return this.debug && this.testcalls > this.opts.simulatedopcount;
  }

  /** Keep every op that runs (up to `limit`), as script lines with their data numbers. */
  keepOps(limit: number): void {
    this.kept = [];
    this.keepLimit = limit;
  }

  /** The ops kept by keepOps(). */
  get keptOps(): readonly ParsedOp[] {
    return this.kept ?? [];
  }

  /**
   * Draw the stream as usual and check each op, from op `firstOp` on,
   * against a recording's op lines; stop after the last. A mismatch throws
   * ReplayDiverged.
   */
  expectOps(ops: ParsedOp[], firstOp: number, file: string): void {
    this.expect = { ops, next: 0, firstOp, file };
    if (!ops.length) this.requestStop();
  }

  /** Replay these ops instead of drawing them; an error stops the replay where fsx would. */
  setReplay(ops: ParsedOp[], error?: Error): void {
    this.replay = ops;
    this.replayError = error;
  }

  /**
   * fsx's start-up after option parsing: the buffers, the initial file
   * contents (-k, -L), the trunc hack. `existing` is the file's contents
   * when -k or -L keeps it.
   */
  *init(existing?: Uint8Array): Gen<void> {
    const o = this.opts;
    if (existing) {
      this.fileSize = this.maxfilelen = this.biggest = existing.length;
    }
    const n = this.maxfilelen;
    const orig = this.arena ? this.arena.original(this.rnd, n) : makeOriginal(this.rnd, n);
    this.original = orig;
    this.gen = new DataGen(orig, n + o.writebdy, true, this.arena);
    this.good = this.gen.good;
    this.temp = new Uint8Array(o.maxoplen + o.readbdy);
    if (o.lite) {
      const w = yield* this.file.pwrite(this.good, 0, n, 0, 0);
      if (w !== n) {
        this.out.warn(w < 0 ? `main: error on write: ${strerror(-w)}` : `main: short write, ${hex(w)} bytes instead of ${hex(n)}\n: Success`);
        throw new FsxExit(98, 'initial write failed');
      }
    } else {
      if (existing) this.good.set(existing);
      // check_trunc_hack: the file must extend on truncate
      yield* this.file.ftruncate(this.fileSize);
      yield* this.file.ftruncate(this.fileSize + 100000);
      const sz = yield* this.file.size();
      if (sz !== this.fileSize + 100000) {
        this.prt('no extend on truncate! not posix!\n');
        throw new FsxExit(130, 'no extend on truncate');
      }
      yield* this.file.ftruncate(this.fileSize);
    }
    yield* this.probeFeatures();
  }

  /**
   * fsx's feature probes, in its order, after the buffers and the trunc
   * check: each optional operation the options leave on is tried once, and
   * turned off when the kernel refuses it in the ways fsx checks for, with
   * fsx's message on standard error unless -q. Only those errnos turn an
   * operation off: one the kernel refuses otherwise (EINVAL for a clone of
   * a DAX file, say) stays on and fails when it runs, as in fsx.
   */
  private *probeFeatures(): Gen<void> {
    const o = this.opts;
    const f = this.file;
    const say = (s: string): void => {
      if (!o.quiet && this.out.stderr) this.out.stderr(s + '\n');
    };
    const refused = (what: string): false => {
      say(`main: filesystem does not support ${what}, disabling!`);
      return false;
    };
    const probe = (feature: Feature, mode?: number): Gen<number> => f.probe(feature, mode);
    // test_fallocate(mode): fallocate(fd, mode, file_size, 1); ENOSYS or EOPNOTSUPP turn it off (never probed with -L)
    const falloc = function* (mode: number, name: string): Gen<boolean> {
      if (o.lite) return false;
      const e = yield* probe('fallocate', mode);
      return e === E.ENOSYS || e === E.EOPNOTSUPP ? refused(`fallocate mode ${name}`) : true;
    };
    if (o.fallocateCalls) o.fallocateCalls = yield* falloc(0, '0');
    if (o.keepSizeCalls) o.keepSizeCalls = yield* falloc(FALLOC.KEEP_SIZE, 'FALLOC_FL_KEEP_SIZE');
    if (o.unshareRangeCalls) o.unshareRangeCalls = yield* falloc(FALLOC.UNSHARE_RANGE, 'FALLOC_FL_UNSHARE_RANGE');
    if (o.punchHoleCalls) o.punchHoleCalls = yield* falloc(FALLOC.PUNCH_HOLE | FALLOC.KEEP_SIZE, 'FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE');
    if (o.zeroRangeCalls) o.zeroRangeCalls = yield* falloc(FALLOC.ZERO_RANGE, 'FALLOC_FL_ZERO_RANGE');
    if (o.collapseRangeCalls) o.collapseRangeCalls = yield* falloc(FALLOC.COLLAPSE_RANGE, 'FALLOC_FL_COLLAPSE_RANGE');
    if (o.insertRangeCalls) o.insertRangeCalls = yield* falloc(FALLOC.INSERT_RANGE, 'FALLOC_FL_INSERT_RANGE');
    // FICLONERANGE of nothing: EOPNOTSUPP or ENOTTY
    if (o.cloneRangeCalls) {
      const e = yield* probe('clone');
      if (e === E.EOPNOTSUPP || e === E.ENOTTY) o.cloneRangeCalls = refused('clone range');
    }
    // FIDEDUPERANGE of one block onto the next (older kernels say EINVAL)
    if (o.dedupeRangeCalls) {
      const e = yield* probe('dedupe');
      if (e === E.EOPNOTSUPP || e === E.ENOTTY || e === E.EINVAL) o.dedupeRangeCalls = refused('dedupe range');
    }
    // copy_file_range of one byte from offset 0 to offset 1, a real copy: on a kept file (-k) with data, byte 1
    // becomes byte 0 and fsx's good buffer, read before, does not follow (its next check of byte 1 fails, as
    // fsx's does). On an empty file the call copies nothing, and it is not made: the schedule stays as it was.
    if (o.copyRangeCalls) {
      const e = yield* probe('copy');
      if (e === E.ENOSYS || e === E.EOPNOTSUPP || e === E.ENOTTY) o.copyRangeCalls = refused('copy range');
      else if (e === 0 && this.fileSize > 0) yield* f.copyFileRange(0, 1, 1);
    }
    // XFS_IOC_EXCHANGE_RANGE dry run
    if (o.exchangeRangeCalls) {
      const e = yield* probe('exchange');
      if (e === E.EOPNOTSUPP || e === E.ENOTTY) o.exchangeRangeCalls = refused('exchange range');
    }
    // preadv2(RWF_DONTCACHE) of the first 4 KiB
    if (o.dontcacheIo) {
      const e = yield* probe('dontcache');
      if (e === E.EOPNOTSUPP) o.dontcacheIo = refused('dontcache IO');
    }
    // atomic writes: fsx asks for O_DIRECT, then statx's atomic write unit
    if (o.atomicWrites) {
      if (!o.oDirect) {
        say('main: atomic writes need O_DIRECT (-Z), disabling!');
        o.atomicWrites = false;
      } else if ((yield* probe('atomic')) !== 0) {
        say('main: IO Stack does not support atomic writes, disabling!');
        o.atomicWrites = false;
      }
    }
    const on = this.enabled;
    on[OP.FALLOCATE] = o.fallocateCalls;
    on[OP.PUNCH_HOLE] = o.punchHoleCalls;
    on[OP.ZERO_RANGE] = o.zeroRangeCalls;
    on[OP.COLLAPSE_RANGE] = o.collapseRangeCalls;
    on[OP.INSERT_RANGE] = o.insertRangeCalls;
    on[OP.WRITE_ATOMIC] = o.atomicWrites;
    on[OP.EXCHANGE_RANGE] = o.exchangeRangeCalls;
    on[OP.CLONE_RANGE] = o.cloneRangeCalls;
    on[OP.DEDUPE_RANGE] = o.dedupeRangeCalls;
    on[OP.COPY_RANGE] = o.copyRangeCalls;
  }

  prt(s: string): void {
    this.out.prt(s);
  }

  private prterr(prefix: string, errno: number): void {
    this.prt(`${prefix}${prefix ? ': ' : ''}${strerror(errno)}\n`);
  }

  /**
   * What fsx carries from one op to the next besides the program's ops and
   * the good buffer they build (explore's state hash, between ops): the op
   * number, the replay file's position, its idea of the file's size and
   * the biggest it has been, and the ops turned on (a probe at start may
   * have turned some off).
   */
  stateWord(): number {
    let h = 0x811c9dc5;
    const mix = (x: number): void => {
      h = Math.imul(h ^ x, 0x01000193) >>> 0;
    };
    mix(this.testcalls);
    mix(this.replayPos);
    mix(this.fileSize);
    mix(this.biggest);
    mix(+this.closeopen);
    for (const on of this.enabled) mix(+on);
    const o = this.opts;
    mix(+o.keepSizeCalls | (+o.unshareRangeCalls << 1) | (+o.dontcacheIo << 2) | (+o.mappedReads << 3) | (+o.mappedWrites << 4));
    return h;
  }

  /** The whole run: test() until -N, --duration or the replay file runs out. */
  *run(): Gen<void> {
    while (this.keepRunning()) {
      if (!(yield* this.test())) break;
    }
    const rc = yield* this.file.close();
    if (rc < 0) {
      this.prterr('close', -rc);
      this.fail(99, 'close failed');
    }
  }

  /** Print the success line (and the log dump with --record-ops). */
  finish(recordOps: boolean): void {
    this.prt(`All ${this.testcalls} operations completed A-OK!\n`);
    if (recordOps) this.logdump();
  }

  /** End the run after the current operation (as if -N ran out). */
  requestStop(): void {
    this.deadline = 0;
    this.numopsLeft = 0;
  }

  private keepRunning(): boolean {
    if (this.deadline) return performance.now() < this.deadline;
    if (this.numopsLeft === -1) return true;
    return this.numopsLeft-- !== 0;
  }

  // ---- the log --------------------------------------------------------

  private log4(op: number, a0: number, a1: number, flags: number): void {
    if (this.closeopen) flags |= FL.CLOSE_OPEN;
    this.log.add(op, 3, a0 | 0, a1 | 0, this.fileSize | 0, 0, flags);
  }

  private log5(op: number, a0: number, a1: number, a2: number, flags: number): void {
    if (this.closeopen) flags |= FL.CLOSE_OPEN;
    this.log.add(op, 4, a0 | 0, a1 | 0, a2 | 0, this.fileSize | 0, flags);
  }

  /** fsx's logdump(): the LOG DUMP on stdout and .fsxlog, and the .fsxops file. */
  logdump(): void {
    const log = this.log;
    this.prt(`LOG DUMP (${log.count} total operations):\n`);
    const lines = this.opsHeader().slice();
    for (const { slot, opnum } of log.dumpOrder()) {
      this.prt(`${opnum}(${String(opnum % 256).padStart(3)} mod 256): `);
      const e = log.entry(slot);
      const { parts, overlap } = describeEntry(e, this.badoff);
      for (const p of parts) this.prt(p);
      if (e.flags & FL.CLOSE_OPEN) this.prt('\n\t\tCLOSE/OPEN');
      this.prt('\n');
      lines.push(formatOpsLine(e, overlap));
    }
    const err = this.out.writeOps(lines);
    if (err) this.prt(err + '\n');
    else this.prt(`Log of operations saved to "${this.opsPath}"; replay with --replay-ops\n`);
  }

  /** Set by the driver: where the .fsxops goes. */
  opsPath = '';

  /** fsx's report_failure() up to exit(): log dump, .fsxops, .fsxgood. */
  dumpFailure(): void {
    this.logdump();
    this.out.writeGood(this.good.subarray(0, this.fileSize));
    this.prt('Correct content saved for comparison\n');
    this.prt(`(maybe hexdump "${this.fname}" vs "${this.goodfile}")\n`);
  }

  fail(status: number, check = FSX_CHECKS[status] ?? `fsx exit ${status}`): never {
    this.dumpFailure();
    throw new FsxExit(status, check);
  }

  // ---- checks ----------------------------------------------------------

  /** fsx's check_buffers(): compare what was read with the good buffer. */
  private checkBuffers(buf: Uint8Array, offset: number, size: number): void {
    const good = this.good;
    if (Buffer.compare(
      Buffer.from(good.buffer, good.byteOffset + offset, size),
      Buffer.from(buf.buffer, buf.byteOffset, size),
    ) === 0) return;
    this.prt(`READ BAD DATA: offset = ${hex(offset)}, size = ${hex(size)}, fname = ${this.fname}\n`);
    this.prt(`${pad('OFFSET', 10)}  ${pad('GOOD', 6)}  ${pad('BAD', 6)}  RANGE\n`);
    const short = (a: Uint8Array, i: number): number => ((a[i] ?? 0) << 8) | (a[i + 1] ?? 0);
    let n = 0;
    const bad = { offset, size, first: -1, last: -1, count: 0 };
    for (let i = 0; size > 0; i++, offset++, size--) {
      if (good[offset] === buf[i]) continue;
      if (n < 16) {
        const bad = short(buf, i);
        this.prt(
          `0x${pad((offset >>> 0).toString(16), 8)}  0x${short(good, offset).toString(16).padStart(4, '0')}  0x${bad
            .toString(16)
            .padStart(4, '0')}  ${hex(n)}\n`,
        );
        const op = buf[offset & 1 ? i + 1 : i] ?? 0;
        if (op) this.prt(`operation# (mod 256) for the bad data may be ${op & 0xff}\n`);
        else this.prt('operation# (mod 256) for the bad data unknown, check HOLE and EXTEND ops\n');
      }
      n++;
      this.badoff = offset;
      if (bad.first < 0) bad.first = offset;
    }
    bad.last = this.badoff;
    bad.count = n;
    this.badRead = bad;
    this.fail(110);
  }

  private *checkSize(): Gen<void> {
    const st = yield* this.file.size();
    if (st !== this.fileSize) {
      this.prt(`Size error: expected ${hex(this.fileSize)} stat ${hex(st)} seek ${hex(st)}\n`);
      this.fail(120);
    }
  }

  /** fsx's check_eofpage(): bytes past EOF in the last mapped page must read zero. */
  private *checkEofpage(what: string, m: Mapping, pgOffset: number, offset: number, size: number): Gen<void> {
    const ps = this.opts.pageSize;
    const mask = this.pageMask;
    if (offset + size <= this.fileSize - (this.fileSize & mask)) return;
    const lastPage = (pgOffset + size) & ~mask;
    const from = lastPage + (this.fileSize & mask);
    const len = lastPage + ps - from;
    const buf = this.eofBuf;
    const rc = yield* this.file.mapRead(m, from, buf, 0, len);
    if (rc < 0) return;
    for (let i = 0; i < len; i++) {
      if (buf[i]) {
        const at = from + i;
        const short = (buf[i] << 8) | (i + 1 < len ? buf[i + 1] : 0);
        this.prt(
          `Mapped ${what}: non-zero data past EOF (${hex(this.fileSize - 1)}) page offset ${hex(at & mask)} is 0x${short
            .toString(16)
            .padStart(4, '0')}\n`,
        );
        this.fail(205);
      }
    }
  }
  private readonly eofBuf = new Uint8Array(65536);

  private *checkContents(): Gen<void> {
    const o = this.opts;
    if (!this.checkBuf) this.checkBuf = new Uint8Array(this.maxfilelen + o.writebdy);
    let size = this.fileSize;
    if (o.oDirect) size -= size % o.readbdy;
    if (size === 0) return;
    const rc = yield* this.file.pread(this.checkBuf, 0, size, 0, 0);
    if (rc !== size) {
      if (rc < 0) this.prterr('check_contents: read', -rc);
      else this.prt(`short check read: ${hex(rc)} bytes instead of ${hex(size)}\n`);
      this.fail(141);
    }
    this.checkBuffers(this.checkBuf, 0, size);
    const ps = this.opts.pageSize;
    let mapOffset = size - (size & this.pageMask);
    if (mapOffset === size) mapOffset -= ps;
    const mapSize = size - mapOffset;
    const m = yield* this.file.mmap(mapOffset, mapSize, false);
    if (typeof m === 'number') {
      this.prterr('check_contents: mmap', -m);
      this.fail(190);
    }
    yield* this.checkEofpage('check_contents', m, 0, mapOffset, mapSize);
    const u = yield* this.file.munmap(m);
    if (u < 0) {
      this.prterr('check_contents: munmap', -u);
      this.fail(191);
    }
  }

  // ---- data -------------------------------------------------------------

  /** fsx's gendata(): the bytes op number testcalls writes at [offset, offset+size) of the good buffer. */
  private gendata(offset: number, size: number): void {
    const fill = this.opts.filldata;
    if (fill) this.good.fill(fill, offset, offset + size);
    else this.gen.fill(offset, size, this.dataTc & 255);
  }

  /** gendata into a mapping for -e: fsx indexes original_buf by the page offset. */
  private polluteData(len: number, pgOffset: number): Uint8Array {
    const buf = new Uint8Array(pgOffset + len);
    const t = this.dataTc & 255;
    for (let o = pgOffset; o < pgOffset + len; o++) {
      buf[o] = this.opts.filldata ? this.opts.filldata : o & 1 ? t + this.original[o] : t;
    }
    return buf.subarray(pgOffset);
  }

  private *polluteEofpage(maxoff: number): Gen<void> {
    if (!this.opts.polluteEof || this.testcalls <= this.opts.simulatedopcount) return;
    const offset = this.fileSize;
    const ps = this.opts.pageSize;
    const pgOffset = offset & this.pageMask;
    const writeSize = Math.min(ps - pgOffset, maxoff - offset);
    if (!pgOffset) return;
    if (this.monitorPrint(offset, writeSize)) {
      this.prt(`${this.testcalls} pollute_eof\t${hex(offset)} thru\t${hex(offset + writeSize - 1)}\t(${hex(writeSize)} bytes)\n`);
    }
    const m = yield* this.file.mmap(offset - pgOffset, ps, true);
    if (typeof m === 'number') {
      this.prterr('pollute_eofpage: mmap', -m);
      return;
    }
    yield* this.file.mapWrite(m, pgOffset, this.polluteData(writeSize, pgOffset), 0, writeSize);
    const u = yield* this.file.munmap(m);
    if (u < 0) this.prterr('pollute_eofpage: munmap', -u);
  }

  private *updateFileSize(offset: number, size: number): Gen<void> {
    if (offset > this.fileSize) {
      yield* this.polluteEofpage(offset + size);
      this.good.fill(0, this.fileSize, offset);
    }
    this.fileSize = offset + size;
  }

  /** The read/write family prints under -p/-d only when not quiet, and honours -m. */
  private monitorPrint(offset: number, size: number): boolean {
    const o = this.opts;
    return (
      !o.quiet &&
      ((o.progressinterval !== 0 && this.testcalls % o.progressinterval === 0) ||
        (this.debug &&
          (o.monitorstart === -1 || (offset + size > o.monitorstart && (o.monitorend === -1 || offset <= o.monitorend)))))
    );
  }

  /** The size-changing family prints under -p/-d even with -q. */
  private progressPrint(endOk: boolean): boolean {
    const o = this.opts;
    return (
      (o.progressinterval !== 0 && this.testcalls % o.progressinterval === 0) ||
      (this.debug && (o.monitorstart === -1 || o.monitorend === -1 || endOk))
    );
  }

  private get simulating(): boolean {
    return this.testcalls <= this.opts.simulatedopcount;
  }

  private get talk(): boolean {
    return !this.opts.quiet && this.testcalls > this.opts.simulatedopcount;
  }

  // ---- operations ----------------------------------------------------------

  private *doread(offset: number, size: number, flags: number, mapped: boolean): Gen<void> {
    const o = this.opts;
    const op = mapped ? OP.MAPREAD : OP.READ;
    offset -= offset % o.readbdy;
    if (!mapped && o.oDirect) size -= size % o.readbdy;
    if (size === 0) {
      if (this.talk && (mapped || !o.oDirect)) this.prt('skipping zero size read\n');
      this.log4(op, offset, size, FL.SKIPPED);
      return;
    }
    if (size + offset > this.fileSize) {
      if (this.talk) this.prt('skipping seek/read past end of file\n');
      this.log4(op, offset, size, FL.SKIPPED);
      return;
    }
    this.log4(op, offset, size, FL.NONE);
    if (this.simulating) return;
    if (this.monitorPrint(offset, size)) {
      this.prt(`${this.testcalls} ${mapped ? 'mapread' : 'read'}\t${hex(offset)} thru\t${hex(offset + size - 1)}\t(${hex(size)} bytes)\n`);
    }
    const temp = this.temp;
    if (!mapped) {
      const rc = yield* this.file.pread(temp, 0, size, offset, flags);
      if (rc !== size) {
        if (rc < 0) this.prterr('doread: read', -rc);
        else this.prt(`short read: ${hex(rc)} bytes instead of ${hex(size)}\n`);
        this.fail(141);
      }
      this.checkBuffers(temp, offset, size);
      return;
    }
    const pgOffset = offset & this.pageMask;
    const mapSize = pgOffset + size;
    const m = yield* this.file.mmap(offset - pgOffset, mapSize, false);
    if (typeof m === 'number') {
      this.prterr('domapread: mmap', -m);
      this.fail(190);
    }
    const rc = yield* this.file.mapRead(m, pgOffset, temp, 0, size);
    if (rc < 0) this.userFault(rc);
    yield* this.checkEofpage('Read', m, pgOffset, offset, size);
    const u = yield* this.file.munmap(m);
    if (u < 0) {
      this.prterr('domapread: munmap', -u);
      this.fail(191);
    }
    this.checkBuffers(temp, offset, size);
  }

  /** A user copy that faulted fatally: the process gets SIGBUS. */
  private userFault(rc: number): never {
    this.prt(`signal 7 (SIGBUS: ${strerror(-rc)} in a mapped copy)\n`);
    this.fail(135, 'SIGBUS');
  }

  private *dowrite(offset: number, size: number, flags: number): Gen<void> {
    const o = this.opts;
    offset -= offset % o.writebdy;
    if (o.oDirect) size -= size % o.writebdy;
    if (flags & RWF_ATOMIC) {
      if (size < o.awuMin) size = o.awuMin;
      if (size > o.awuMax) size = o.awuMax;
      size = rounddownPow2(size);
      offset -= offset % size;
      if (offset + size > this.maxfilelen) {
        if (this.talk) this.prt('skipping atomic write past maxfilelen\n');
        this.log4(OP.WRITE_ATOMIC, offset, size, FL.SKIPPED);
        return;
      }
    }
    if (size === 0) {
      if (this.talk && !o.oDirect) this.prt('skipping zero size write\n');
      this.log4(OP.WRITE, offset, size, FL.SKIPPED);
      return;
    }
    this.log4(flags & RWF_ATOMIC ? OP.WRITE_ATOMIC : OP.WRITE, offset, size, FL.NONE);
    this.gendata(offset, size);
    if (offset + size > this.fileSize) {
      yield* this.updateFileSize(offset, size);
      if (o.lite) {
        this.out.warn('Lite file size bug in fsx!: Success');
        this.fail(149);
      }
    }
    if (this.simulating) return;
    if (this.monitorPrint(offset, size)) {
      this.prt(
        `${this.testcalls} write\t${hex(offset)} thru\t${hex(offset + size - 1)}\t(${hex(size)} bytes)\tdontcache=${flags & RWF_DONTCACHE ? 1 : 0} atomic_wr=${flags & RWF_ATOMIC ? 1 : 0}\n`,
      );
    }
    const rc = yield* this.file.pwrite(this.good, offset, size, offset, flags);
    if (rc !== size) {
      if (rc < 0) this.prterr('dowrite: write', -rc);
      else this.prt(`short write: ${hex(rc)} bytes instead of ${hex(size)}\n`);
      this.fail(151);
    }
    if (o.doFsync) {
      const f = yield* this.file.fsync();
      if (f < 0) {
        this.prt(`fsync() failed: ${strerror(-f)}\n`);
        this.fail(152);
      }
    }
    if (o.flush) yield* this.doflush(offset, size);
  }

  private *doflush(offset: number, size: number): Gen<void> {
    if (this.opts.oDirect) return;
    const pgOffset = offset & this.pageMask;
    const m = yield* this.file.mmap(offset - pgOffset, pgOffset + size, true);
    if (typeof m === 'number') {
      this.prterr('doflush: mmap', -m);
      this.fail(202);
    }
    const s = yield* this.file.msync(m, false);
    if (s < 0) {
      this.prterr('doflush: msync', -s);
      this.fail(203);
    }
    const u = yield* this.file.munmap(m);
    if (u < 0) {
      this.prterr('doflush: munmap', -u);
      this.fail(204);
    }
  }

  private *domapwrite(offset: number, size: number): Gen<void> {
    const o = this.opts;
    offset -= offset % o.writebdy;
    if (size === 0) {
      if (this.talk) this.prt('skipping zero size write\n');
      this.log4(OP.MAPWRITE, offset, size, FL.SKIPPED);
      return;
    }
    const curFilesize = this.fileSize;
    this.log4(OP.MAPWRITE, offset, size, FL.NONE);
    this.gendata(offset, size);
    if (offset + size > this.fileSize) {
      yield* this.updateFileSize(offset, size);
      if (o.lite) {
        this.out.warn('Lite file size bug in fsx!: Success');
        this.fail(200);
      }
    }
    if (this.simulating) return;
    if (this.monitorPrint(offset, size)) {
      this.prt(`${this.testcalls} mapwrite\t${hex(offset)} thru\t${hex(offset + size - 1)}\t(${hex(size)} bytes)\n`);
    }
    if (this.fileSize > curFilesize) {
      const t = yield* this.file.ftruncate(this.fileSize);
      if (t < 0) {
        this.prterr('domapwrite: ftruncate', -t);
        throw new FsxExit(201, 'mapwrite ftruncate failed');
      }
    }
    const pgOffset = offset & this.pageMask;
    const m = yield* this.file.mmap(offset - pgOffset, pgOffset + size, true);
    if (typeof m === 'number') {
      this.prterr('domapwrite: mmap', -m);
      this.fail(202);
    }
    const rc = yield* this.file.mapWrite(m, pgOffset, this.good, offset, size);
    if (rc < 0) this.userFault(rc);
    const s = yield* this.file.msync(m, true);
    if (s < 0) {
      this.prterr('domapwrite: msync', -s);
      this.fail(203);
    }
    yield* this.checkEofpage('Write', m, pgOffset, offset, size);
    const u = yield* this.file.munmap(m);
    if (u < 0) {
      this.prterr('domapwrite: munmap', -u);
      this.fail(204);
    }
  }

  private *dotruncate(size: number): Gen<void> {
    const oldsize = this.fileSize;
    size -= size % this.opts.truncbdy;
    if (size > this.biggest) {
      this.biggest = size;
      if (this.talk) this.prt(`truncating to largest ever: ${hex(size)}\n`);
    }
    this.log4(OP.TRUNCATE, 0, size, FL.NONE);
    if (size < this.fileSize) yield* this.polluteEofpage(this.maxfilelen);
    yield* this.updateFileSize(size, 0);
    if (this.simulating) return;
    const o = this.opts;
    if ((o.progressinterval !== 0 && this.testcalls % o.progressinterval === 0) ||
        (this.debug && (o.monitorstart === -1 || o.monitorend === -1 || size <= o.monitorend))) {
      this.prt(`${this.testcalls} trunc\tfrom ${hex(oldsize)} to ${hex(size)}\n`);
    }
    const rc = yield* this.file.ftruncate(size);
    if (rc < 0) {
      this.prt(`ftruncate1: ${(size >>> 0).toString(16)}\n`);
      this.prterr('dotruncate: ftruncate', -rc);
      this.fail(160);
    }
  }

  private *fallocateCall(name: string, what: string, mode: number, offset: number, length: number, dest = -1): Gen<void> {
    const rc = yield* this.file.fallocate(mode, offset, length);
    if (rc < 0) {
      this.prt(`${what}: ${hex(offset)} to ${hex(offset + length)}${dest >= 0 ? ` at ${hex(dest)}` : ''}\n`);
      this.prterr(name, -rc);
      this.fail(161);
    }
  }

  private *doPunchHole(offset: number, length: number): Gen<void> {
    if (length === 0) {
      if (this.talk) this.prt('skipping zero length punch hole\n');
      this.log4(OP.PUNCH_HOLE, offset, length, FL.SKIPPED);
      return;
    }
    if (this.fileSize <= offset) {
      if (this.talk) this.prt('skipping hole punch off the end of the file\n');
      this.log4(OP.PUNCH_HOLE, offset, length, FL.SKIPPED);
      return;
    }
    const end = offset + length;
    this.log4(OP.PUNCH_HOLE, offset, length, FL.NONE);
    if (this.simulating) return;
    if (this.progressPrint(end <= this.opts.monitorend)) {
      this.prt(`${this.testcalls} punch\tfrom ${hex(offset)} to ${hex(offset + length)}, (${hex(length)} bytes)\n`);
    }
    yield* this.fallocateCall('do_punch_hole: fallocate', 'punch hole', FALLOC.PUNCH_HOLE | FALLOC.KEEP_SIZE, offset, length);
    const maxOffset = offset < this.fileSize ? offset : this.fileSize;
    const maxLen = maxOffset + length <= this.fileSize ? length : this.fileSize - maxOffset;
    this.good.fill(0, maxOffset, maxOffset + maxLen);
  }

  private *doZeroRange(offset: number, length: number, keepSize: boolean): Gen<void> {
    const mode = FALLOC.ZERO_RANGE | (keepSize ? FALLOC.KEEP_SIZE : 0);
    if (length === 0) {
      if (this.talk) this.prt('skipping zero length zero range\n');
      this.log4(OP.ZERO_RANGE, offset, length, FL.SKIPPED | (keepSize ? FL.KEEP_SIZE : 0));
      return;
    }
    const end = keepSize ? 0 : offset + length;
    if (end > this.biggest) {
      this.biggest = end;
      if (this.talk) this.prt(`zero_range to largest ever: ${hex(end)}\n`);
    }
    this.log4(OP.ZERO_RANGE, offset, length, keepSize ? FL.KEEP_SIZE : FL.NONE);
    if (!keepSize && end > this.fileSize) yield* this.updateFileSize(offset, length);
    if (this.simulating) return;
    if (this.progressPrint(end <= this.opts.monitorend)) {
      this.prt(`${this.testcalls} zero\tfrom ${hex(offset)} to ${hex(offset + length)}, (${hex(length)} bytes)\n`);
    }
    yield* this.fallocateCall('do_zero_range: fallocate', 'zero range', mode, offset, length);
    this.good.fill(0, offset, offset + length);
  }

  private *doCollapseRange(offset: number, length: number): Gen<void> {
    if (length === 0) {
      if (this.talk) this.prt('skipping zero length collapse range\n');
      this.log4(OP.COLLAPSE_RANGE, offset, length, FL.SKIPPED);
      return;
    }
    const end = (offset + length) >>> 0;
    if (end >= this.fileSize) {
      if (this.talk) this.prt('skipping collapse range behind EOF\n');
      this.log4(OP.COLLAPSE_RANGE, offset, length, FL.SKIPPED);
      return;
    }
    this.log4(OP.COLLAPSE_RANGE, offset, length, FL.NONE);
    yield* this.polluteEofpage(this.maxfilelen);
    if (this.simulating) return;
    if (this.progressPrint(end <= this.opts.monitorend)) {
      this.prt(`${this.testcalls} collapse\tfrom ${hex(offset)} to ${hex(offset + length)}, (${hex(length)} bytes)\n`);
    }
    yield* this.fallocateCall('do_collapse_range: fallocate', 'collapse range', FALLOC.COLLAPSE_RANGE, offset, length);
    this.good.copyWithin(offset, end, this.fileSize);
    this.fileSize -= length;
  }

  private *doInsertRange(offset: number, length: number): Gen<void> {
    if (length === 0) {
      if (this.talk) this.prt('skipping zero length insert range\n');
      this.log4(OP.INSERT_RANGE, offset, length, FL.SKIPPED);
      return;
    }
    if (offset >= this.fileSize) {
      if (this.talk) this.prt('skipping insert range behind EOF\n');
      this.log4(OP.INSERT_RANGE, offset, length, FL.SKIPPED);
      return;
    }
    this.log4(OP.INSERT_RANGE, offset, length, FL.NONE);
    yield* this.polluteEofpage(this.maxfilelen);
    if (this.simulating) return;
    const end = offset + length;
    if (this.progressPrint(end <= this.opts.monitorend)) {
      this.prt(`${this.testcalls} insert\tfrom ${hex(offset)} to ${hex(offset + length)}, (${hex(length)} bytes)\n`);
    }
    yield* this.fallocateCall('do_insert_range: fallocate', 'insert range', FALLOC.INSERT_RANGE, offset, length);
    this.good.copyWithin(end, offset, this.fileSize);
    this.good.fill(0, offset, end);
    this.fileSize += length;
  }

  private *doPreallocate(offset: number, length: number, keepSize: boolean, unshare: boolean): Gen<void> {
    let flags = 0;
    let mode = 0;
    if (keepSize) {
      flags |= FL.KEEP_SIZE;
      mode |= FALLOC.KEEP_SIZE;
    }
    if (unshare) {
      flags |= FL.UNSHARE;
      mode |= FALLOC.UNSHARE_RANGE;
    }
    if (length === 0) {
      if (this.talk) this.prt('skipping zero length fallocate\n');
      this.log4(OP.FALLOCATE, offset, length, FL.SKIPPED | flags);
      return;
    }
    const end = keepSize ? 0 : offset + length;
    if (end > this.biggest) {
      this.biggest = end;
      if (this.talk) this.prt(`fallocating to largest ever: ${hex(end)}\n`);
    }
    this.log4(OP.FALLOCATE, offset, length, flags);
    if (end > this.fileSize) {
      this.good.fill(0, this.fileSize, end);
      yield* this.updateFileSize(offset, length);
    }
    if (this.simulating) return;
    if (this.progressPrint(end <= this.opts.monitorend)) {
      this.prt(`${this.testcalls} falloc\tfrom ${hex(offset)} to ${hex(offset + length)} (${hex(length)} bytes)\n`);
    }
    yield* this.fallocateCall('do_preallocate: fallocate', 'fallocate', mode, offset, length);
  }

  /** clone, dedupe, copy and exchange share their checks; only the call and the good buffer differ. */
  private *doRangeOp(op: number, offset: number, length: number, dest: number): Gen<void> {
    const [verb, largest, what, errName] = RANGE_OP_WORDS[op];
    if (length === 0) {
      if (this.talk) this.prt(`skipping zero length ${what}\n`);
      this.log5(op, offset, length, dest, FL.SKIPPED);
      return;
    }
    if (offset >= this.fileSize || (op === OP.EXCHANGE_RANGE && dest >= this.fileSize)) {
      if (this.talk) this.prt(`skipping ${what} behind EOF\n`);
      this.log5(op, offset, length, dest, FL.SKIPPED);
      return;
    }
    if (largest && dest + length > this.biggest) {
      this.biggest = dest + length;
      if (this.talk) this.prt(`${largest} to largest ever: ${hex(dest + length)}\n`);
    }
    this.log5(op, offset, length, dest, FL.NONE);
    const extends_ = op === OP.CLONE_RANGE || op === OP.COPY_RANGE;
    if (extends_ && dest + length > this.fileSize) yield* this.updateFileSize(dest, length);
    if (this.simulating) return;
    const o = this.opts;
    if ((o.progressinterval !== 0 && this.testcalls % o.progressinterval === 0) ||
        (this.debug && (o.monitorstart === -1 || o.monitorend === -1 || dest <= o.monitorstart || dest + length <= o.monitorend))) {
      this.prt(`${this.testcalls} ${verb}\tfrom ${hex(offset)} to ${hex(offset + length)}, (${hex(length)} bytes) at ${hex(dest)}\n`);
    }
    let rc: number;
    if (op === OP.CLONE_RANGE) rc = yield* this.file.cloneRange(offset, length, dest);
    else if (op === OP.DEDUPE_RANGE) rc = yield* this.file.dedupeRange(offset, length, dest);
    else if (op === OP.EXCHANGE_RANGE) rc = yield* this.file.exchangeRange(offset, length, dest);
    else {
      let left = length;
      let o1 = offset;
      let o2 = dest;
      rc = 0;
      while (left > 0) {
        rc = yield* this.file.copyFileRange(o1, o2, left);
        if (rc < 0) break;
        if (rc > left) {
          this.prt(`copy range: ${hex(offset)} to ${hex(offset + length)} at ${hex(dest)}\n`);
          this.prt(`do_copy_range: asked ${left}, copied ${rc}??\n`);
          this.fail(161);
        }
        if (rc === 0) {
          // the kernel copies nothing at EOF; fsx would spin here forever
          this.prt(`copy range: ${hex(offset)} to ${hex(offset + length)} at ${hex(dest)}\n`);
          this.prt(`do_copy_range: copied 0 of ${left} bytes\n`);
          this.fail(161);
        }
        left -= rc;
        o1 += rc;
        o2 += rc;
      }
    }
    if (rc < 0) {
      this.prt(`${what}: ${hex(offset)} to ${hex(offset + length)} at ${hex(dest)}\n`);
      this.prterr(errName, -rc);
      this.fail(161);
    }
    const g = this.good;
    if (op === OP.EXCHANGE_RANGE) {
      const tmp = g.slice(offset, offset + length);
      g.copyWithin(offset, dest, dest + length);
      g.set(tmp, dest);
    } else if (op !== OP.DEDUPE_RANGE) {
      g.copyWithin(dest, offset, offset + length);
    }
  }

  private *dofsync(): Gen<void> {
    if (this.simulating) return;
    if (this.debug) this.prt(`${this.testcalls} fsync\n`);
    this.log4(OP.FSYNC, 0, 0, 0);
    const rc = yield* this.file.fsync();
    if (rc < 0) {
      this.prterr('dofsync', -rc);
      this.fail(210);
    }
  }

  private *docloseopen(): Gen<void> {
    if (this.simulating) return;
    if (this.debug) this.prt(`${this.testcalls} close/open\n`);
    const c = yield* this.file.close();
    if (c < 0) {
      this.prterr('docloseopen: close', -c);
      this.fail(180);
    }
    const d = yield* this.file.dropCaches();
    if (d < 0) {
      this.prterr('docloseopen: drop_caches', -d);
      this.fail(181);
    }
    const r = yield* this.file.open({ direct: this.opts.oDirect });
    if (r < 0) {
      this.prterr('docloseopen: open', -r);
      this.fail(182);
    }
  }

  private *writefileimage(): Gen<void> {
    const rc = yield* this.file.pwrite(this.good, 0, this.fileSize, 0, 0);
    if (rc !== this.fileSize) {
      if (rc < 0) this.prterr('writefileimage: write', -rc);
      else this.prt(`short write: ${hex(rc)} bytes instead of ${hex(this.fileSize)}\n`);
      this.fail(172);
    }
    if (!this.opts.lite) {
      const t = yield* this.file.ftruncate(this.fileSize);
      if (t < 0) {
        this.prt(`ftruncate2: ${this.fileSize.toString(16)}\n`);
        this.prterr('writefileimage: ftruncate', -t);
        this.fail(173);
      }
    }
  }

  /** fsx's generate_dest_range() for clone, dedupe, copy and exchange. */
  private destRange(bdyAlign: boolean, maxRangeEnd: number, offset: number, size: number): [number, number, number] {
    const o = this.opts;
    const fs = this.fileSize;
    offset = fs ? offset % fs : 0;
    if (offset + size > fs) size = fs - offset;
    if (bdyAlign) {
      offset -= offset % o.readbdy;
      if (o.oDirect) size -= size % o.readbdy;
    } else {
      offset -= offset % o.blockSize;
      size -= size % o.blockSize;
    }
    let dest = 0;
    for (let tries = 0; ; tries++) {
      if (tries >= 30) {
        size = 0;
        break;
      }
      dest = this.rnd.next();
      dest = maxRangeEnd ? dest % maxRangeEnd : 0;
      dest -= dest % (bdyAlign ? o.writebdy : o.blockSize);
      if (!(Math.abs(dest - offset) < size) && dest + size <= maxRangeEnd) break;
    }
    return [offset, size, dest];
  }

  /** The next op from the replay file, logging its skipped entries on the way; null at its end. */
  private nextReplayed(): ParsedOp | null {
    const ops = this.replay!;
    while (this.replayPos < ops.length) {
      const e = ops[this.replayPos++];
      if (e.flags & FL.SKIPPED) {
        this.log4(e.op, e.args[0], e.args[1], e.flags);
        continue;
      }
      return e;
    }
    if (this.replayError) {
      // fsx reports a bad line when it reaches it: stderr, testcalls, exit 100
      this.out.warn(`${this.replayError.message}: parse error`);
      this.prt(`testcalls = ${this.testcalls}\n`);
      throw new FsxExit(100, 'replay parse error');
    }
    return null;
  }

  /** One fsx operation. Returns false when a replay file has run out. */
  *test(): Gen<boolean> {
    const o = this.opts;
    if (o.simulatedopcount > 0 && this.testcalls === o.simulatedopcount) yield* this.writefileimage();
    this.testcalls++;
    this.dataTc = this.testcalls;
    this.ranOp = -1;
    if (o.debugstart > 0 && this.testcalls >= o.debugstart) this.debug = true;
    if (!o.quiet && this.testcalls < o.simulatedopcount && this.testcalls % 100000 === 0) this.prt(`${this.testcalls}...\n`);

    let op: number;
    let offset: number;
    let size: number;
    let offset2 = 0;
    let keepSize = false;
    let unshare = false;

    if (this.replay) {
      const e = this.nextReplayed();
      if (!e) return false;
      op = e.real ?? e.op;
      if (e.tc !== undefined) this.dataTc = e.tc;
      offset = e.args[0] >>> 0;
      size = e.args[1] >>> 0;
      offset2 = e.args[2] >>> 0;
      this.closeopen = (e.flags & FL.CLOSE_OPEN) !== 0;
      keepSize = (e.flags & FL.KEEP_SIZE) !== 0;
      unshare = (e.flags & FL.UNSHARE) !== 0;
    } else {
      const r = this.rnd;
      const rv = r.next();
      if (o.closeprob) this.closeopen = rv >>> 3 < Math.trunc((1 << 28) / o.closeprob);
      offset = r.next();
      size = o.maxoplen;
      if (o.randomoplen) size = r.next() % (o.maxoplen + 1);
      op = rv % (o.lite ? OP_MAX_LITE : o.integrity ? OP_MAX_INTEGRITY : OP_MAX_FULL);
      switch (op) {
        case OP.TRUNCATE:
          // fsx tests a global `style` here that -s never sets: main() parses -s into a
          // local of the same name (range-checked, then unused), so every truncate draws.
          size = r.next() % this.maxfilelen;
          break;
        case OP.FALLOCATE:
          if (o.fallocateCalls && size) {
            if (o.keepSizeCalls) keepSize = r.next() % 2 === 1;
            if (o.unshareRangeCalls) unshare = r.next() % 2 === 1;
          }
          break;
        case OP.ZERO_RANGE:
          if (o.zeroRangeCalls && size && o.keepSizeCalls) keepSize = r.next() % 2 === 1;
          break;
        case OP.CLONE_RANGE:
          [offset, size, offset2] = this.destRange(false, this.maxfilelen, offset, size);
          break;
        case OP.DEDUPE_RANGE:
          [offset, size, offset2] = this.destRange(false, this.fileSize, offset, size);
          break;
        case OP.COPY_RANGE:
          [offset, size, offset2] = this.destRange(true, this.maxfilelen, offset, size);
          break;
        case OP.EXCHANGE_RANGE:
          [offset, size, offset2] = this.destRange(false, this.fileSize, offset, size);
          break;
      }
    }
    this.currentOp = op;
    if (this.onOpStart) this.onOpStart(this.testcalls, this.log.count);
    yield* this.runOp(op, offset, size, offset2, keepSize, unshare);
    if (this.closeopen) yield* this.docloseopen();
    if (o.sizechecks && this.testcalls > o.simulatedopcount) yield* this.checkSize();
    if (this.kept) this.keepOp();
    if (this.expect) this.checkExpected();
    if (this.onOp) this.onOp(this.testcalls);
    return true;
  }

  /** The op just logged, as a script line, if it ran. */
  private keepOp(): void {
    const kept = this.kept!;
    if (this.ranOp < 0 || kept.length >= this.keepLimit) return;
    const e = this.log.last();
    if (e.flags & FL.SKIPPED) return; // fsx skipped it (a zero-size read, a range past EOF): a replay would too
    const real = this.ranOp !== e.op && this.ranOp !== OP.MAPREAD && this.ranOp !== OP.MAPWRITE ? this.ranOp : undefined;
    kept.push({ ...e, args: [e.args[0], e.args[1], e.args[2], e.args[3]], line: kept.length + 1, tc: this.dataTc, real });
  }

  /** The op in flight when a run stopped inside it belongs to the script too. */
  keepInFlight(): void {
    if (!this.kept || !this.log.count) return;
    const last = this.kept[this.kept.length - 1];
    if (last?.tc === this.dataTc) return;
    this.keepOp();
  }

  private checkExpected(): void {
    const x = this.expect!;
    if (this.testcalls < x.firstOp) return;
    const want = x.ops[x.next];
    const got = formatOpsLine(this.log.last(), false);
    const wantText = formatOpsLine(want, false);
    if (got !== wantText) {
      throw new ReplayDiverged(
        `${x.file}:${want.line}: the run diverged from its recording at op ${this.testcalls}: the file says '${wantText}', the recorded config gives '${got}' (to replay the op lines alone, as fsx would, delete the '# daxfsx' lines)`,
      );
    }
    if (++x.next === x.ops.length) this.requestStop();
  }

  private *runOp(op: number, offset: number, size: number, offset2: number, keepSize: boolean, unshare: boolean): Gen<void> {
    const o = this.opts;
    // disabled operations: mapped ones fall back to read/write, the rest are skipped
    if (op === OP.MAPREAD && !o.mappedReads) op = OP.READ;
    else if (op === OP.MAPWRITE && !o.mappedWrites) op = OP.WRITE;
    else if (!this.enabled[op]) {
      if (opArgsCount(op) === 4) this.log5(op, offset, size, offset2, FL.SKIPPED);
      else this.log4(op, offset, size, FL.SKIPPED);
      return;
    }

    this.ranOp = op;
    const fs = this.fileSize;
    const mfl = this.maxfilelen;
    // TRIM_OFF_LEN(offset, size, limit): reads trim to the file, writes to -l
    const lim = TRIM_TO_FILE[op] ? fs : op === OP.COLLAPSE_RANGE ? fs - 1 : mfl;
    if (TRIM_TO_FILE[op] || TRIM_TO_MAX[op] || (op === OP.COLLAPSE_RANGE && fs !== 0)) {
      // (collapse trims to file_size - 1; with an empty file that is (unsigned long)-1: no trim)
      offset = lim ? offset % lim : 0;
      if (offset + size > lim) size = lim - offset;
    }
    const bs = o.blockSize;
    switch (op) {
      case OP.READ:
        yield* this.doread(offset, size, 0, false);
        break;
      case OP.READ_DONTCACHE:
        yield* this.doread(offset, size, o.dontcacheIo ? RWF_DONTCACHE : 0, false);
        break;
      case OP.WRITE:
        yield* this.dowrite(offset, size, 0);
        break;
      case OP.WRITE_DONTCACHE:
        yield* this.dowrite(offset, size, o.dontcacheIo ? RWF_DONTCACHE : 0);
        break;
      case OP.WRITE_ATOMIC:
        yield* this.dowrite(offset, size, RWF_ATOMIC);
        break;
      case OP.MAPREAD:
        yield* this.doread(offset, size, 0, true);
        break;
      case OP.MAPWRITE:
        yield* this.domapwrite(offset, size);
        break;
      case OP.TRUNCATE:
        yield* this.dotruncate(size);
        break;
      case OP.FALLOCATE:
        yield* this.doPreallocate(offset, size, keepSize, unshare);
        break;
      case OP.PUNCH_HOLE:
        yield* this.doPunchHole(offset, size);
        break;
      case OP.ZERO_RANGE:
        yield* this.doZeroRange(offset, size, keepSize);
        break;
      case OP.COLLAPSE_RANGE:
        offset -= offset % bs;
        size -= size % bs;
        if (size === 0) {
          this.log4(OP.COLLAPSE_RANGE, offset, size, FL.SKIPPED);
          return;
        }
        yield* this.doCollapseRange(offset, size);
        break;
      case OP.INSERT_RANGE:
        offset = fs ? offset % fs : 0;
        if (fs + size > mfl) size = mfl - fs;
        offset -= offset % bs;
        size -= size % bs;
        if (size === 0 || fs + size > mfl) {
          this.log4(OP.INSERT_RANGE, offset, size, FL.SKIPPED);
          return;
        }
        yield* this.doInsertRange(offset, size);
        break;
      case OP.EXCHANGE_RANGE:
      case OP.CLONE_RANGE:
      case OP.DEDUPE_RANGE:
      case OP.COPY_RANGE:
        if (size === 0 || offset2 + size > mfl) {
          this.log5(op, offset, size, offset2, FL.SKIPPED);
          return;
        }
        yield* this.doRangeOp(op, offset, size, offset2);
        break;
      case OP.FSYNC:
        yield* this.dofsync();
        break;
      default:
        this.prt('test: unknown operation: Success\n');
        this.fail(42, 'unknown operation');
    }
    if (o.checkFile && this.testcalls > o.simulatedopcount) yield* this.checkContents();
  }
}

/** Ops trimmed to the file size, and to the maximum file length, before they run. */
const TRIM_TO_FILE: boolean[] = [];
const TRIM_TO_MAX: boolean[] = [];
for (const op of [OP.READ, OP.READ_DONTCACHE, OP.MAPREAD, OP.PUNCH_HOLE]) TRIM_TO_FILE[op] = true;
for (const op of [OP.WRITE, OP.WRITE_DONTCACHE, OP.WRITE_ATOMIC, OP.MAPWRITE, OP.FALLOCATE, OP.ZERO_RANGE]) TRIM_TO_MAX[op] = true;

/** Words fsx uses for the four two-range ops: debug verb, "largest ever" verb, message noun, error prefix. */
const RANGE_OP_WORDS: Record<number, [string, string, string, string]> = {
  [OP.CLONE_RANGE]: ['clone', 'cloning', 'clone range', 'do_clone_range: FICLONERANGE'],
  [OP.DEDUPE_RANGE]: ['dedupe', '', 'dedupe range', 'do_dedupe_range(0): FIDEDUPERANGE'],
  [OP.COPY_RANGE]: ['copy', 'copying', 'copy range', 'do_copy_range:'],
  [OP.EXCHANGE_RANGE]: ['swap', '', 'exchange range', 'do_exchange_range: XFS_IOC_EXCHANGE_RANGE'],
};

function rounddownPow2(n: number): number {
  if ((n & (n - 1)) === 0) return n;
  let i = 0;
  while (1 << i < n) i++;
  return 1 << (i - 1);
}

