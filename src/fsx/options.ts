/** Everything that decides what the fsx engine does, with fsx's defaults. */
export interface FsxOptions {
  seed: number;
  /** -N: test() calls to make; -1 for no limit. */
  numops: number;
  /** --duration: seconds (ignores -N); 0 when not given. */
  durationSec: number;
  maxfilelen: number;
  maxoplen: number;
  /** -O turns it off: every op uses maxoplen. */
  randomoplen: boolean;
  readbdy: number;
  writebdy: number;
  truncbdy: number;
  /** -s: 1 gives smaller truncates (no extra draw). */
  style: number;
  lite: boolean;
  /** -c P: 1 in P chance of close+open after an op; 0 for never. */
  closeprob: number;
  debug: boolean;
  /** -D: debug output from this op on; 0 for not set. */
  debugstart: number;
  /** -g X: byte written instead of generated data; 0 for not set. */
  filldata: number;
  /** -f: flush and invalidate after writes. */
  flush: boolean;
  /** -y: fsync after writes. */
  doFsync: boolean;
  sizechecks: boolean;
  quiet: boolean;
  progressinterval: number;
  monitorstart: number;
  monitorend: number;
  /** -x */
  prealloc: boolean;
  /** -k: keep the existing file; its size becomes the upper bound. */
  keepExisting: boolean;
  /** -b N gives N-1: ops before it are simulated without I/O. */
  simulatedopcount: number;
  /** -X */
  checkFile: boolean;
  /** -e 1 */
  polluteEof: boolean;
  /** -Z */
  oDirect: boolean;
  /** -i: integrity mode (adds fsync ops). */
  integrity: boolean;
  /** -j: prt() prefixes 'LOGID: ' when it is set (even to ''). */
  logid: string | undefined;
  mappedReads: boolean;
  mappedWrites: boolean;
  fallocateCalls: boolean;
  keepSizeCalls: boolean;
  unshareRangeCalls: boolean;
  punchHoleCalls: boolean;
  zeroRangeCalls: boolean;
  collapseRangeCalls: boolean;
  insertRangeCalls: boolean;
  cloneRangeCalls: boolean;
  dedupeRangeCalls: boolean;
  copyRangeCalls: boolean;
  exchangeRangeCalls: boolean;
  dontcacheIo: boolean;
  atomicWrites: boolean;
  /** Atomic write unit limits the file reports through statx. */
  awuMin: number;
  awuMax: number;
  /** File system block size (st_blksize) and page size. */
  blockSize: number;
  pageSize: number;
}

export function defaultFsxOptions(): FsxOptions {
  return {
    seed: 1,
    numops: -1,
    durationSec: 0,
    maxfilelen: 256 * 1024,
    maxoplen: 64 * 1024,
    randomoplen: true,
    readbdy: 1,
    writebdy: 1,
    truncbdy: 1,
    style: 0,
    lite: false,
    closeprob: 0,
    debug: false,
    debugstart: 0,
    filldata: 0,
    flush: false,
    doFsync: false,
    sizechecks: true,
    quiet: false,
    progressinterval: 0,
    monitorstart: -1,
    monitorend: -1,
    prealloc: false,
    keepExisting: false,
    simulatedopcount: 0,
    checkFile: false,
    polluteEof: false,
    oDirect: false,
    integrity: false,
    logid: undefined,
    mappedReads: true,
    mappedWrites: true,
    fallocateCalls: true,
    keepSizeCalls: true,
    unshareRangeCalls: true,
    punchHoleCalls: true,
    zeroRangeCalls: true,
    collapseRangeCalls: true,
    insertRangeCalls: true,
    cloneRangeCalls: true,
    dedupeRangeCalls: true,
    copyRangeCalls: true,
    exchangeRangeCalls: true,
    dontcacheIo: true,
    atomicWrites: true,
    awuMin: 4096,
    awuMax: 4096,
    blockSize: 4096,
    pageSize: 4096,
  };
}
