import { Command, Option } from 'commander';
import { MAX_FILE_LEN, MAX_FLIPPERS, MAX_OP_LEN, FS_NAMES, SCHED_NAMES, defaultOutputs, type ModelOptions, type Outputs, type RunConfig } from '../core/config.js';
import { cInt, fsxGetnum, getnum, strtoll } from '../fsx/getnum.js';
import { fsxParseMessages, type OptionUse, type ParseLine } from '../fsx/parsemessages.js';
import { DESIGN_NAMES } from '../kernel/designs.js';
import { designArg } from './designs.js';
import { MountError, mountFor } from '../kernel/machine.js';
import { UsageError } from '../util/errors.js';

/** What the command line says: the config it applies to a base, where outputs go, and what fsx prints while parsing. */
export interface ParsedRun {
  /** The given options applied to a base config (the defaults, or a recording's). */
  apply: (base: RunConfig) => RunConfig;
  outputs: Outputs;
  /** Lines fsx prints while parsing options, each with its prefix and stream (src/fsx/parsemessages.ts). */
  parseMessages: ParseLine[];
  /** Options the model cannot honour, with what daxfsx does instead. */
  notes: string[];
  /** -S 0: the seed is picked; print it. */
  seedPicked: boolean;
  replayOps?: string;
  color: boolean;
}

interface Num {
  (v: string): number;
}

function num(opt: string, check: (n: number) => string | null): Num {
  return (v: string): number => {
    const n = getnum(v);
    if (n === undefined) {
      // a size with a suffix fsx's getnum does not know (1g, 2G, 1t): say what it would be, and the limit
      const big = /^\s*(\d+)([gGtT])$/.exec(v);
      const would = big ? Number(big[1]) * 2 ** (big[2].toLowerCase() === 'g' ? 30 : 40) : undefined;
      const why = would !== undefined ? check(would) : null;
      throw new UsageError(
        `option ${opt}: '${v}' is not a number (fsx's suffixes are b (512), k, m and w (4))${why ? `; as ${would} it ${why.replace(/^the model holds/, 'would be more than the model holds:')}` : ''}`,
      );
    }
    const why = check(n);
    if (why) throw new UsageError(`option ${opt}: ${why} (got ${v})`);
    return n;
  };
}

const positive = (n: number): string | null => (n <= 0 ? 'must be greater than 0' : null);
const nonNeg = (n: number): string | null => (n < 0 ? 'must not be negative' : null);
const bounded = (max: number) => (n: number) => (n <= 0 ? 'must be greater than 0' : n > max ? `the model holds at most ${max}` : null);

/** The run command's options: fsx's letters with long names, and daxfsx's own. */
/** Options about one run's files. */
const PER_RUN = new Set(['dir', 'replayOps', 'recordOps']);

/**
 * The options of one run on a command. `perRun: false` leaves out what only
 * a run with files has (the reports, -P, --replay-ops, --record-ops): for
 * commands whose runs are in memory (sweep, explore).
 */
export function addRunOptions(cmd: Command, perRun = true): Command {
  const g = (title: string, opts: Option[]): void => {
    for (const o of opts) if (perRun || !PER_RUN.has(o.attributeName())) cmd.addOption(o.helpGroup(title));
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
    new Option('--fs <fs>', 'file system to model').choices([...FS_NAMES]).default('xfs'),
    new Option('--kernel <design>', `how a DAX flag change takes effect: a design's name (${DESIGN_NAMES.join(', ')}) or a design file (daxfsx designs knobs)`).default('immediate'),
    new Option('--initial-dax <on|off>', 'whether the file starts in DAX mode').choices(['on', 'off']).default('on'),
    new Option('--no-flip', 'no flag flips (fsx alone)'),
    new Option('--flippers <n>', 'chattr +x/-x tasks').default(1),
    new Option('--flip-weight <w>', 'chance a runnable flipper is scheduled, relative to fsx (0 < w)').default(1),
    new Option('--flip-interval <steps>', 'mean scheduler steps a flipper spends between flips').default(200),
    new Option('--sched <strategy>', 'scheduler').choices([...SCHED_NAMES]).default('random'),
    new Option('--pct-depth <d>', 'PCT bug depth (d-1 priority change points)').default(3),
    new Option('--panic-on-warn', 'a kernel WARNING stops the run (exit 52)'),
    new Option('--hung-steps <n>', 'scheduler steps a task may stay blocked before the hung-task report').default(200000),
    new Option('--mount <opts>', "DAX mount option: 'dax' or 'none' (4.13, 4.14), 'dax=always|inode|never' (5.8+); default: the release's (none on XFS, dax on ext4 before 5.8, dax=inode from 5.8)"),
    new Option('--drop-caches <1|2|3>', 'a task writing this to /proc/sys/vm/drop_caches now and then'),
    new Option('--drop-caches-interval <steps>', 'mean steps between its writes').default(5000),
    new Option('--writeback <steps>', "background writeback: mean steps between the flusher's passes (the kernel's 5 s is 5000000)"),
    new Option('--closeopen-drop <0|1|2|3>', "what fsx's -c writes to drop_caches between close and open (0: fsx before 2020, no drop)").default(3),
  ]);
  if (perRun)
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

/** An option as given: fsx's letter or long name with its value (for fsx's parse rules), and commander's attribute name. */
export interface GivenOption extends OptionUse {
  attr: string;
}

/** Collect a command's options as they are parsed, in order, with their values. */
export function recordOptions(cmd: Command, into: GivenOption[]): void {
  for (const o of cmd.options) {
    const opt = o.short ? o.short.slice(1) : (o.long ?? o.name()).replace(/^--/, '');
    cmd.on(`option:${o.name()}`, (v: unknown) => into.push({ opt, value: typeof v === 'string' ? v : undefined, attr: o.attributeName() }));
  }
}



/**
 * Turn commander's parse into what the command line says. `order` lists
 * the options given, in the order given (fsx prints some messages only if
 * -q came earlier); options not given leave the base config alone, so a
 * recording's config and the command line can be held against each other.
 */
export function parseRunOptions(raw: Raw, fileArgs: string[], options: readonly GivenOption[], now: () => number = () => Math.floor(Date.now() / 1000) % 10000 + process.pid): { run: ParsedRun; fname: string } {
  // fsx's own parse first: what it prints, and where it would stop
  const fsxParse = fsxParseMessages(options, fileArgs);
  if (fsxParse.stop) {
    // fsx reads a number out of anything ('-N ./f' is -N 0, and then no file); daxfsx refuses such values, so say that first
    if (/^(the test file name is required|one test file only)/.test(fsxParse.stop.why)) fromGiven(raw, ['(checking values)'], options, fsxParse.lines, now);
    throw new UsageError(fsxParse.stop.why, fsxParse.stop.code, fsxParse.lines);
  }
  try {
    return fromGiven(raw, fileArgs, options, fsxParse.lines, now);
  } catch (e) {
    if (e instanceof UsageError) e.before = fsxParse.lines;
    throw e;
  }
}

function fromGiven(raw: Raw, fileArgs: string[], options: readonly GivenOption[], parseMessages: ParseLine[], now: () => number): { run: ParsedRun; fname: string } {
  const given = new Set(options.map((o) => o.attr));
  const notes: string[] = [];
  const has = (k: string): boolean => given.has(k) && raw[k] !== undefined;
  const str = (k: string): string => String(raw[k]);
  const n = (k: string, opt: string, check: (n: number) => string | null): number => num(opt, check)(str(k));
  /** fsx's int options: the value as the C int it is stored in. */
  const int = (k: string, opt: string, check: (n: number) => string | null): number => cInt(BigInt(n(k, opt, (v) => check(cInt(BigInt(v))))));

  // check every given value now, so a bad one fails before anything runs
  const sets: ((c: RunConfig) => void)[] = [];
  const fsx = (fn: (f: RunConfig['fsx']) => void): void => void sets.push((c) => fn(c.fsx));
  const model = (fn: (m: ModelOptions) => void): void => void sets.push((c) => fn(c.model));
  let seedPicked = false;
  if (has('quiet')) fsx((f) => (f.quiet = true));
  if (has('seed')) {
    let seed = cInt(BigInt(n('seed', '-S', () => null)));
    if (seed === 0) {
      seedPicked = true;
      seed = now();
    }
    fsx((f) => (f.seed = seed));
  }
  if (has('numops')) {
    const v = n('numops', '-N', nonNeg);
    fsx((f) => (f.numops = v));
  }
  if (has('duration')) {
    // fsx reads it with strtoll (text after the number ignored); 0 and negatives stopped fsx's parse
    const d = Number(strtoll(str('duration')).value);
    fsx((f) => (f.durationSec = d));
  }
  // [option, letter, check, C int?, set]: fsx's int options wrap as a C int does
  const numeric: [string, string, (n: number) => string | null, boolean, (f: RunConfig['fsx'], v: number) => void][] = [
    ['maxFileLen', '-l', bounded(MAX_FILE_LEN), false, (f, v) => (f.maxfilelen = v)],
    ['maxOpLen', '-o', bounded(MAX_OP_LEN), true, (f, v) => (f.maxoplen = v)],
    ['readBdy', '-r', bounded(MAX_FILE_LEN), true, (f, v) => (f.readbdy = v)],
    ['writeBdy', '-w', bounded(MAX_FILE_LEN), true, (f, v) => (f.writebdy = v)],
    ['truncBdy', '-t', bounded(MAX_FILE_LEN), true, (f, v) => (f.truncbdy = v)],
    ['style', '-s', (v) => (v < 0 || v > 1 ? 'must be 0 or 1' : null), true, (f, v) => (f.style = v)],
    ['closeProb', '-c', positive, true, (f, v) => (f.closeprob = v)],
    // a long long in fsx: any value but 0, negative ones meaning no simulated ops
    ['startOp', '-b', (v) => (v === 0 ? 'must not be 0' : null), false, (f, v) => (f.simulatedopcount = v - 1)],
    ['debugStart', '-D', (v) => (v < 1 ? 'must be at least 1' : null), false, (f, v) => (f.debugstart = v)],
    ['progress', '-p', (v) => (v === 0 ? 'must not be 0' : null), false, (f, v) => (f.progressinterval = v)],
    ['polluteEof', '-e', (v) => (v < 0 || v > 1 ? 'must be 0 or 1' : null), true, (f, v) => (f.polluteEof = v === 1)],
  ];
  for (const [key, opt, check, cint, set] of numeric) {
    if (!has(key)) continue;
    const v = cint ? int(key, opt, check) : n(key, opt, check);
    fsx((f) => set(f, v));
  }
  const flags: [string, (f: RunConfig['fsx'], on: boolean) => void][] = [
    ['fixedOpLen', (f, on) => (f.randomoplen = !on)],
    ['lite', (f, on) => (f.lite = on)],
    ['keepFile', (f, on) => (f.keepExisting = on)],
    ['debug', (f, on) => (f.debug = on)],
    ['checkFile', (f, on) => (f.checkFile = on)],
    ['flush', (f, on) => (f.flush = on)],
    ['fsyncWrites', (f, on) => (f.doFsync = on)],
    ['prealloc', (f, on) => (f.prealloc = on)],
  ];
  for (const [key, set] of flags) if (has(key)) fsx((f) => set(f, raw[key] === true));
  // the disabling flags: --no-X gives false
  const off: [string, keyof RunConfig['fsx']][] = [
    ['mappedReads', 'mappedReads'],
    ['mappedWrites', 'mappedWrites'],
    ['fallocate', 'fallocateCalls'],
    ['keepSize', 'keepSizeCalls'],
    ['unshare', 'unshareRangeCalls'],
    ['punchHole', 'punchHoleCalls'],
    ['zeroRange', 'zeroRangeCalls'],
    ['collapseRange', 'collapseRangeCalls'],
    ['insertRange', 'insertRangeCalls'],
    ['cloneRange', 'cloneRangeCalls'],
    ['dedupeRange', 'dedupeRangeCalls'],
    ['copyRange', 'copyRangeCalls'],
    ['exchangeRange', 'exchangeRangeCalls'],
    ['dontcache', 'dontcacheIo'],
    ['atomicWrites', 'atomicWrites'],
    ['sizeChecks', 'sizechecks'],
  ];
  for (const [key, field] of off) if (has(key) && raw[key] === false) fsx((f) => ((f as unknown as Record<string, boolean>)[field] = false));
  if (has('fill')) {
    // fsx keeps the first byte of the argument (an empty one gives 0: no fill)
    const b = Buffer.from(str('fill'))[0] ?? 0;
    fsx((f) => (f.filldata = b));
  }
  if (has('integrity')) {
    fsx((f) => (f.integrity = true));
    notes.push(`-i ${str('integrity')}: the model has no dm-log-writes device; fsync operations run, no marks are written`);
  }
  if (has('monitor')) {
    // read as fsx reads it (fsx's parse has already checked start >= 0, the ':', end >= 0)
    const first = fsxGetnum(str('monitor'));
    const start = Number(first.value);
    const end = Number(fsxGetnum(first.rest.slice(1)).value);
    fsx((f) => {
      f.monitorstart = start;
      f.monitorend = end === 0 ? -1 : end;
      f.debug = true;
      f.sizechecks = false; // fsx's -m falls through into -n
    });
  }
  if (has('logId')) {
    const id = str('logId');
    fsx((f) => (f.logid = id));
  }
  if (raw.aio === true) notes.push('-A: the model has one I/O path; AIO reads and writes take the read_iter/write_iter paths');
  if (raw.ioUring === true) notes.push('-U: the model has one I/O path; io_uring reads and writes take the read_iter/write_iter paths');
  if (raw.hugepages === true) notes.push('-h: user buffers are not modelled; hugepage-backed buffers change nothing');
  if (raw.direct === true) fsx((f) => {
    f.oDirect = true;
    f.dontcacheIo = false;
  });

  if (has('fs')) {
    const v = str('fs') as ModelOptions['fs'];
    model((m) => (m.fs = v));
  }
  if (has('kernel')) {
    const v = designArg(str('kernel'));
    model((m) => (m.kernel = v));
  }
  if (has('initialDax')) {
    const v = str('initialDax') === 'on';
    model((m) => (m.initialDax = v));
  }
  if (has('flip')) {
    const v = raw.flip !== false;
    model((m) => (m.flip = v));
  }
  if (has('flippers')) {
    const v = n('flippers', '--flippers', (x) => (x < 1 ? 'must be at least 1 (use --no-flip for none)' : x > MAX_FLIPPERS ? `at most ${MAX_FLIPPERS}` : null));
    model((m) => (m.flippers = v));
  }
  if (has('flipWeight')) {
    const w = Number(str('flipWeight'));
    if (!Number.isFinite(w) || w <= 0) throw new UsageError(`option --flip-weight: must be a number greater than 0 (got ${str('flipWeight')})`);
    model((m) => (m.flipWeight = w));
  }
  if (has('flipInterval')) {
    const v = n('flipInterval', '--flip-interval', nonNeg);
    model((m) => (m.flipInterval = v));
  }
  if (has('sched')) {
    const v = str('sched') as ModelOptions['sched'];
    model((m) => (m.sched = v));
  }
  if (has('pctDepth')) {
    const v = n('pctDepth', '--pct-depth', (x) => (x < 1 || x > 64 ? 'must be between 1 and 64' : null));
    model((m) => (m.pctDepth = v));
  }
  if (has('panicOnWarn')) model((m) => (m.panicOnWarn = true));
  if (has('hungSteps')) {
    const v = n('hungSteps', '--hung-steps', positive);
    model((m) => (m.hungSteps = v));
  }
  if (has('mount')) {
    const v = str('mount');
    model((m) => (m.mount = v));
  }
  const dropValue = (v: number): string | null => (v < 0 || v > 3 ? 'must be 0, 1, 2 or 3' : null);
  if (has('dropCaches')) {
    const v = n('dropCaches', '--drop-caches', dropValue);
    model((m) => (m.dropCaches = v));
  }
  if (has('dropCachesInterval')) {
    const v = n('dropCachesInterval', '--drop-caches-interval', positive);
    model((m) => (m.dropCachesInterval = v));
  }
  if (has('writeback')) {
    const v = n('writeback', '--writeback', nonNeg);
    model((m) => (m.writeback = v));
  }
  if (has('closeopenDrop')) {
    const v = n('closeopenDrop', '--closeopen-drop', dropValue);
    model((m) => (m.closeOpenDrop = v));
  }

  const fname = fileArgs[0];
  const outputs: Outputs = {
    ...defaultOutputs(fname),
    dir: has('dir') ? str('dir') : undefined,
    recordOps: raw.recordOps === true || raw.recordOps === '' ? true : has('recordOps') ? str('recordOps') : undefined,
    summary: has('summary') ? str('summary') : undefined,
    logJson: has('logJson') ? str('logJson') : undefined,
    report: has('report') ? str('report') : undefined,
    explain: raw.explain !== false,
    shrink: raw.shrink === true,
    timeline: raw.timeline === true,
  };
  const apply = (base: RunConfig): RunConfig => {
    const c: RunConfig = { fsx: { ...base.fsx }, model: { ...base.model } };
    for (const set of sets) set(c);
    // the mount option as the release has it (a 5.8 option on 4.13 is refused here, with the release's choices)
    try {
      mountFor(c.model.kernel, c.model.fs, c.model.mount);
    } catch (e) {
      if (e instanceof MountError) throw new UsageError(e.message);
      throw e;
    }
    return c;
  };
  return {
    fname,
    run: { apply, outputs, parseMessages, notes, seedPicked, replayOps: has('replayOps') ? str('replayOps') : undefined, color: raw.color !== false },
  };
}
