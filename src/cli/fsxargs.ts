import { Command, Option } from 'commander';
import { getnum } from '../fsx/getnum.js';
import { defaultFsxOptions, type FsxOptions } from '../fsx/options.js';
import { DESIGN_NAMES, type DesignName } from '../kernel/designs.js';
import { mountFor } from '../kernel/machine.js';
import type { Origin } from '../replay/recording.js';

/** A bad command line: fsx's usage exit, with one line saying what is wrong. */
export class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 90) {
    super(message);
    this.name = 'UsageError';
    this.exitCode = exitCode;
  }
}

/** The largest -l and -o the model holds (its buffers are this many bytes each). */
export const MAX_FILE_LEN = 256 * 1024 * 1024;
export const MAX_OP_LEN = MAX_FILE_LEN;

export type SchedName = 'random' | 'pct';

/** What daxfsx adds to fsx's options. */
export interface ModelOptions {
  fs: 'xfs' | 'ext4';
  kernel: DesignName;
  flip: boolean;
  flippers: number;
  /** Relative chance a runnable flipper is picked over fsx at a step. */
  flipWeight: number;
  /** Mean scheduler steps a flipper spends in user space between flips. */
  flipInterval: number;
  initialDax: boolean;
  sched: SchedName;
  pctDepth: number;
  panicOnWarn: boolean;
  /** Steps a task may stay blocked before the hung-task detector fires. */
  hungSteps: number;
  /** The DAX mount option ('' for the release's default: see src/kernel/fs/super.ts). */
  mount: string;
  /** A task writing this (1, 2, 3) to /proc/sys/vm/drop_caches now and then; 0 for none. */
  dropCaches: number;
  /** Mean steps between its writes. */
  dropCachesInterval: number;
  /** Mean steps between the flusher's background writeback passes; 0 for none. */
  writeback: number;
  /** What fsx's -c writes to drop_caches between close and open (3; 0: fsx before 2020). */
  closeOpenDrop: number;
}

export interface RunArgs {
  fsx: FsxOptions;
  model: ModelOptions;
  fname: string;
  replayOps?: string;
  /** --record-ops: true for the default path, or a path. */
  recordOps?: string | true;
  summary?: string;
  logJson?: string;
  color: boolean;
  /** -S 0: the seed was picked, print it. */
  seedPicked: boolean;
  /** Lines fsx prints while parsing options (they depend on -q's position). */
  parseMessages: string[];
  /** Options the model cannot honour, with what daxfsx does instead. */
  notes: string[];
  /** The argv this run came from (for replay commands). */
  argv: string[];
  explain: boolean;
  /** Shrink a failing run afterwards. */
  shrink: boolean;
  /** Show the timeline even when the run passes. */
  timeline: boolean;
  /** Write the HTML report here. */
  report?: string;
  /** Replaying a generated run exactly: draw its stream again and check each op line. */
  exact?: Origin;
}

export function defaultModelOptions(): ModelOptions {
  return {
    fs: 'xfs',
    kernel: 'immediate',
    flip: true,
    flippers: 1,
    flipWeight: 1,
    flipInterval: 200,
    initialDax: true,
    sched: 'random',
    pctDepth: 3,
    panicOnWarn: false,
    hungSteps: 200000,
    mount: '',
    dropCaches: 0,
    dropCachesInterval: 5000,
    writeback: 0,
    closeOpenDrop: 3,
  };
}

interface Num {
  (v: string): number;
}

function num(opt: string, check: (n: number) => string | null): Num {
  return (v: string): number => {
    const n = getnum(v);
    if (n === undefined) throw new UsageError(`option ${opt}: '${v}' is not a number`);
    const why = check(n);
    if (why) throw new UsageError(`option ${opt}: ${why} (got ${v})`);
    return n;
  };
}

const positive = (n: number): string | null => (n <= 0 ? 'must be greater than 0' : null);
const nonNeg = (n: number): string | null => (n < 0 ? 'must not be negative' : null);
const bounded = (max: number) => (n: number) => (n <= 0 ? 'must be greater than 0' : n > max ? `the model holds at most ${max}` : null);

/** The run command's options: fsx's letters with long names, and daxfsx's own. */
export function addRunOptions(cmd: Command): Command {
  const g = (title: string, opts: Option[]): void => {
    for (const o of opts) cmd.addOption(o.helpGroup(title));
  };
  g('fsx: the operation stream', [
    new Option('-S, --seed <n>', 'seed for the random generator (0 picks one and prints it)').default(1),
    new Option('-N, --numops <n>', 'total number of operations (default: no limit)'),
    new Option('--duration <seconds>', 'ignore -N and run for this many seconds'),
    new Option('-l, --max-file-len <bytes>', 'upper bound on file size').default(262144),
    new Option('-o, --max-op-len <bytes>', 'upper bound on operation size').default(65536),
    new Option('-O, --fixed-op-len', 'use the -o size for every op instead of a random one'),
    new Option('-r, --read-bdy <bytes>', 'read boundary (4096 makes reads page aligned)').default(1),
    new Option('-w, --write-bdy <bytes>', 'write boundary').default(1),
    new Option('-t, --trunc-bdy <bytes>', 'truncate boundary').default(1),
    new Option('-s, --style <0|1>', '1 gives smaller truncates').default(0),
    new Option('-c, --close-prob <P>', '1 in P chance of close+open (and dropping caches) after each op'),
    new Option('-b, --start-op <n>', 'simulate ops 1..n-1 without I/O, then write the file and go on'),
    new Option('-L, --lite', 'fsx lite: no file creation, no size changes'),
    new Option('-g, --fill <X>', 'write the character X instead of generated data'),
    new Option('-k, --keep-file', 'keep the existing file; its size bounds the file size'),
    new Option('-i, --integrity <logdev>', 'integrity mode: adds fsync ops (needs -P)'),
  ]);
  g('fsx: operations to leave out', [
    new Option('-R, --no-mapped-reads', 'read() only: mapped reads become reads'),
    new Option('-W, --no-mapped-writes', 'write() only: mapped writes become writes'),
    new Option('-F, --no-fallocate', 'no fallocate calls'),
    new Option('-K, --no-keep-size', 'no keep-size fallocate / zero range'),
    new Option('-u, --no-unshare', 'no unshare range'),
    new Option('-H, --no-punch-hole', 'no punch hole'),
    new Option('-z, --no-zero-range', 'no zero range'),
    new Option('-C, --no-collapse-range', 'no collapse range'),
    new Option('-I, --no-insert-range', 'no insert range'),
    new Option('-J, --no-clone-range', 'no clone range'),
    new Option('-B, --no-dedupe-range', 'no dedupe range'),
    new Option('-E, --no-copy-range', 'no copy_file_range'),
    new Option('-0, --no-exchange-range', 'no exchange range'),
    new Option('-a, --no-atomic-writes', 'no atomic writes'),
    new Option('-T, --no-dontcache', 'no dontcache I/O'),
  ]);
  g('fsx: checks and output', [
    new Option('-q, --quiet', 'quieter operation'),
    new Option('-d, --debug', 'debug output for every operation'),
    new Option('-D, --debug-start <n>', 'debug output from operation n on'),
    new Option('-p, --progress <n>', 'debug output every n operations'),
    new Option('-m, --monitor <start:end>', 'debug output for this byte range only (also disables size checks, as in fsx)'),
    new Option('-n, --no-size-checks', 'no verification of the file size'),
    new Option('-X, --check-file', 'read the whole file and compare after every operation'),
    new Option('-e, --pollute-eof <0|1>', 'pollute the EOF page before size changes'),
    new Option('-f, --flush', 'flush and invalidate after writes'),
    new Option('-y, --fsync-writes', 'fsync after every write'),
    new Option('-x, --prealloc', 'preallocate the file first (XFS)'),
    new Option('-P, --dir <dir>', 'write .fsxlog, .fsxops and .fsxgood into this directory'),
    new Option('-j, --log-id <id>', 'prefix printed lines with this id'),
    new Option('--replay-ops <file>', 'replay the operations of a .fsxops file'),
    new Option('--record-ops [file]', 'write the .fsxops file on success too'),
  ]);
  g('fsx: real-device options (accepted; the model says what it does with them)', [
    new Option('-A, --aio', 'use AIO'),
    new Option('-U, --io-uring', 'use io_uring'),
    new Option('-Z, --direct', 'O_DIRECT'),
    new Option('-h, --hugepages', 'hugepage-backed buffers'),
  ]);
  g('daxfsx: the kernel model', [
    new Option('--fs <fs>', 'file system to model').choices(['xfs', 'ext4']).default('xfs'),
    new Option('--kernel <design>', 'how a DAX flag change takes effect').choices([...DESIGN_NAMES]).default('immediate'),
    new Option('--initial-dax <on|off>', 'whether the file starts in DAX mode').choices(['on', 'off']).default('on'),
    new Option('--no-flip', 'no flag flips (fsx alone)'),
    new Option('--flippers <n>', 'chattr +x/-x tasks').default(1),
    new Option('--flip-weight <w>', 'chance a runnable flipper is scheduled, relative to fsx (0 < w)').default(1),
    new Option('--flip-interval <steps>', 'mean scheduler steps a flipper spends between flips').default(200),
    new Option('--sched <strategy>', 'scheduler').choices(['random', 'pct']).default('random'),
    new Option('--pct-depth <d>', 'PCT bug depth (d-1 priority change points)').default(3),
    new Option('--panic-on-warn', 'a kernel WARNING stops the run (exit 52)'),
    new Option('--hung-steps <n>', 'scheduler steps a task may stay blocked before the hung-task report').default(200000),
    new Option('--mount <opts>', "DAX mount option: 'dax' or 'none' (4.13, 4.14), 'dax=always|inode|never' (5.8+); default: the release's (none on XFS, dax on ext4 before 5.8, dax=inode from 5.8)"),
    new Option('--drop-caches <1|2|3>', 'a task writing this to /proc/sys/vm/drop_caches now and then'),
    new Option('--drop-caches-interval <steps>', 'mean steps between its writes').default(5000),
    new Option('--writeback <steps>', "background writeback: mean steps between the flusher's passes (the kernel's 5 s is 5000000)"),
    new Option('--closeopen-drop <0|1|2|3>', "what fsx's -c writes to drop_caches between close and open (0: fsx before 2020, no drop)").default(3),
  ]);
  g('daxfsx: reports', [
    new Option('--summary <file>', 'write a JSON summary of the run'),
    new Option('--log-json <file>', 'structured log: one JSON line per operation and per notable event'),
    new Option('--no-explain', 'leave the plain-words explanation out of a failure report'),
    new Option('--timeline', 'show the timeline of the last operation the flag changed under, even when the run passes'),
    new Option('--report <file>', 'write the timeline, ops, kernel log and replay command as one self-contained HTML page'),
    new Option('--shrink', 'when the run fails, shrink it to a minimal reproducer (F.min.fsxops)'),
    new Option('--no-color', 'no colour on the terminal'),
  ]);
  return cmd;
}

type Raw = Record<string, unknown>;

const LETTER_ORDER_SENSITIVE = new Set(['quiet', 'startOp', 'closeProb', 'mappedWrites', 'atomicWrites']);

/**
 * Turn commander's parse into fsx and model options. `order` is the order
 * options appeared in (fsx prints some messages only if -q came earlier).
 */
export function buildRunArgs(raw: Raw, fileArgs: string[], order: string[], argv: string[]): RunArgs {
  if (fileArgs.length !== 1) {
    throw new UsageError(fileArgs.length === 0 ? 'the test file name is required (daxfsx [options] FILE)' : `one test file only, got ${fileArgs.length}: ${fileArgs.join(' ')}`);
  }
  const f = defaultFsxOptions();
  const model = defaultModelOptions();
  const notes: string[] = [];
  const parseMessages: string[] = [];
  const has = (k: string): boolean => raw[k] !== undefined;
  const str = (k: string): string => String(raw[k]);
  const n = (k: string, opt: string, check: (n: number) => string | null): number => num(opt, check)(str(k));

  // fsx prints these while parsing, unless -q came before them
  let quiet = false;
  for (const k of order) {
    if (!LETTER_ORDER_SENSITIVE.has(k)) continue;
    if (k === 'quiet') quiet = true;
    else if (k === 'startOp' && !quiet) parseMessages.push(`Will begin at operation ${n('startOp', '-b', positive)}`);
    else if (k === 'closeProb' && !quiet) parseMessages.push(`Chance of close/open is 1 in ${n('closeProb', '-c', positive)}`);
    else if (k === 'mappedWrites' && !quiet) parseMessages.push('mapped writes DISABLED');
    else if (k === 'atomicWrites' && !quiet) parseMessages.push('main(): Atomic writes disabled');
  }

  f.quiet = raw.quiet === true;
  f.seed = n('seed', '-S', nonNeg);
  if (f.seed > 2147483647) throw new UsageError(`option -S: the seed is a C int, at most 2147483647 (got ${str('seed')})`);
  const seedPicked = f.seed === 0;
  if (seedPicked) f.seed = (Math.floor(Date.now() / 1000) % 10000) + process.pid;
  if (has('numops')) f.numops = n('numops', '-N', nonNeg);
  if (has('duration')) {
    const d = getnum(str('duration'));
    if (d === undefined || d < 1) throw new UsageError(`option --duration: '${str('duration')}' is not a number of seconds >= 1`, 88);
    f.durationSec = d;
  }
  f.maxfilelen = n('maxFileLen', '-l', bounded(MAX_FILE_LEN));
  f.maxoplen = n('maxOpLen', '-o', bounded(MAX_OP_LEN));
  f.randomoplen = raw.fixedOpLen !== true;
  f.readbdy = n('readBdy', '-r', bounded(MAX_FILE_LEN));
  f.writebdy = n('writeBdy', '-w', bounded(MAX_FILE_LEN));
  f.truncbdy = n('truncBdy', '-t', bounded(MAX_FILE_LEN));
  f.style = n('style', '-s', (v) => (v < 0 || v > 1 ? 'must be 0 or 1' : null));
  if (has('closeProb')) f.closeprob = n('closeProb', '-c', positive);
  if (has('startOp')) f.simulatedopcount = n('startOp', '-b', positive) - 1;
  f.lite = raw.lite === true;
  if (has('fill')) {
    const s = str('fill');
    if (!s.length) throw new UsageError('option -g: needs a character');
    f.filldata = s.charCodeAt(0) & 255;
  }
  f.keepExisting = raw.keepFile === true;
  if (has('integrity')) {
    f.integrity = true;
    notes.push(`-i ${str('integrity')}: the model has no dm-log-writes device; fsync operations run, no marks are written`);
  }
  f.mappedReads = raw.mappedReads !== false;
  f.mappedWrites = raw.mappedWrites !== false;
  f.fallocateCalls = raw.fallocate !== false;
  f.keepSizeCalls = raw.keepSize !== false;
  f.unshareRangeCalls = raw.unshare !== false;
  f.punchHoleCalls = raw.punchHole !== false;
  f.zeroRangeCalls = raw.zeroRange !== false;
  f.collapseRangeCalls = raw.collapseRange !== false;
  f.insertRangeCalls = raw.insertRange !== false;
  f.cloneRangeCalls = raw.cloneRange !== false;
  f.dedupeRangeCalls = raw.dedupeRange !== false;
  f.copyRangeCalls = raw.copyRange !== false;
  f.exchangeRangeCalls = raw.exchangeRange !== false;
  f.dontcacheIo = raw.dontcache !== false;
  f.atomicWrites = raw.atomicWrites !== false;
  f.debug = raw.debug === true;
  if (has('debugStart')) f.debugstart = n('debugStart', '-D', (v) => (v < 1 ? 'must be at least 1' : null));
  if (has('progress')) f.progressinterval = n('progress', '-p', (v) => (v === 0 ? 'must not be 0' : v < 0 ? 'must not be negative' : null));
  if (has('monitor')) {
    const m = /^([^:]+):(.*)$/.exec(str('monitor'));
    if (!m) throw new UsageError(`option -m: expected start:end, got '${str('monitor')}'`);
    f.monitorstart = num('-m start', nonNeg)(m[1]);
    const end = num('-m end', nonNeg)(m[2]);
    f.monitorend = end === 0 ? -1 : end;
    f.debug = true;
    f.sizechecks = false; // fsx's -m falls through into -n
  }
  if (raw.sizeChecks === false) f.sizechecks = false;
  f.checkFile = raw.checkFile === true;
  if (has('polluteEof')) f.polluteEof = n('polluteEof', '-e', (v) => (v < 0 || v > 1 ? 'must be 0 or 1' : null)) === 1;
  f.flush = raw.flush === true;
  f.doFsync = raw.fsyncWrites === true;
  f.prealloc = raw.prealloc === true;
  if (has('dir')) f.dirpath = str('dir');
  if (has('logId')) f.logid = str('logId');
  if (raw.aio === true && raw.ioUring === true) throw new UsageError('-A and -U shouldn\'t be used together');
  if (raw.aio === true) notes.push('-A: the model has one I/O path; AIO reads and writes take the read_iter/write_iter paths');
  if (raw.ioUring === true) notes.push('-U: the model has one I/O path; io_uring reads and writes take the read_iter/write_iter paths');
  if (raw.hugepages === true) notes.push('-h: user buffers are not modelled; hugepage-backed buffers change nothing');
  if (raw.direct === true) {
    f.oDirect = true;
    f.dontcacheIo = false;
  }
  if (f.integrity && !f.dirpath) throw new UsageError('option -i <logdev> requires -P <dirpath>');

  model.fs = str('fs') as ModelOptions['fs'];
  model.kernel = str('kernel') as DesignName;
  model.initialDax = str('initialDax') === 'on';
  model.flip = raw.flip !== false;
  model.flippers = n('flippers', '--flippers', (v) => (v < 1 ? 'must be at least 1 (use --no-flip for none)' : v > 64 ? 'at most 64' : null));
  const w = Number(str('flipWeight'));
  if (!Number.isFinite(w) || w <= 0) throw new UsageError(`option --flip-weight: must be a number greater than 0 (got ${str('flipWeight')})`);
  model.flipWeight = w;
  model.flipInterval = n('flipInterval', '--flip-interval', nonNeg);
  model.sched = str('sched') as SchedName;
  model.pctDepth = n('pctDepth', '--pct-depth', (v) => (v < 1 || v > 64 ? 'must be between 1 and 64' : null));
  model.panicOnWarn = raw.panicOnWarn === true;
  model.hungSteps = n('hungSteps', '--hung-steps', positive);
  if (has('mount')) model.mount = str('mount');
  try {
    mountFor(model.kernel, model.fs, model.mount);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const dropValue = (v: number): string | null => (v < 0 || v > 3 ? 'must be 0, 1, 2 or 3' : null);
  if (has('dropCaches')) model.dropCaches = n('dropCaches', '--drop-caches', dropValue);
  model.dropCachesInterval = n('dropCachesInterval', '--drop-caches-interval', positive);
  if (has('writeback')) model.writeback = n('writeback', '--writeback', nonNeg);
  model.closeOpenDrop = n('closeopenDrop', '--closeopen-drop', dropValue);

  return {
    fsx: f,
    model,
    fname: fileArgs[0],
    replayOps: has('replayOps') ? str('replayOps') : undefined,
    recordOps: raw.recordOps === true || raw.recordOps === '' ? true : has('recordOps') ? str('recordOps') : undefined,
    summary: has('summary') ? str('summary') : undefined,
    logJson: has('logJson') ? str('logJson') : undefined,
    color: raw.color !== false,
    seedPicked,
    parseMessages,
    notes,
    argv,
    explain: raw.explain !== false,
    shrink: raw.shrink === true,
    timeline: raw.timeline === true,
    report: has('report') ? str('report') : undefined,
  };
}
