import { defaultFsxOptions, type FsxOptions } from '../fsx/options.js';
import { DESIGNS, DESIGN_NAMES, DesignError, checkDesign, isDesignName, type Design } from '../kernel/designs.js';

/** daxfsx's version, printed by --version and on recordings. */
export const VERSION = '0.2.0';

/** The largest -l and -o the model holds (its buffers are this many bytes each). */
export const MAX_FILE_LEN = 256 * 1024 * 1024;
export const MAX_OP_LEN = MAX_FILE_LEN;
export const MAX_FLIPPERS = 64;

export type FsName = 'xfs' | 'ext4';
export const FS_NAMES: readonly FsName[] = ['xfs', 'ext4'];
export type SchedName = 'random' | 'pct';
export const SCHED_NAMES: readonly SchedName[] = ['random', 'pct'];

/** What daxfsx adds to fsx's options: the machine and the tasks around fsx. */
export interface ModelOptions {
  fs: FsName;
  /** The design: its knobs decide the run; a recording carries it whole. */
  kernel: Design;
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

/**
 * Everything that decides a run, and nothing else: the same config gives
 * the same run, byte for byte. Where outputs go is not part of it.
 */
export interface RunConfig {
  fsx: FsxOptions;
  model: ModelOptions;
}

/** Where a run's outputs go and what it shows: never part of what decides it, never recorded. */
export interface Outputs {
  /** The test file: it receives the final contents; the fsx files go beside it (or into `dir`). */
  fname: string;
  /** -P: the directory for .fsxlog, .fsxops, .fsxgood, .dmesg. */
  dir?: string;
  /** --record-ops: true for the default path, or a path. */
  recordOps?: string | true;
  summary?: string;
  logJson?: string;
  report?: string;
  explain: boolean;
  timeline: boolean;
  shrink: boolean;
}

export function defaultModelOptions(): ModelOptions {
  return {
    fs: 'xfs',
    kernel: DESIGNS.immediate,
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

export function defaultConfig(): RunConfig {
  return { fsx: defaultFsxOptions(), model: defaultModelOptions() };
}

export function defaultOutputs(fname: string): Outputs {
  return { fname, explain: true, timeline: false, shrink: false };
}

/** A config with another seed (a sweep's seeds share everything else). */
export function withSeed(c: RunConfig, seed: number): RunConfig {
  return { fsx: { ...c.fsx, seed }, model: c.model };
}

/** A config that is not what it says it is: `field` names what is wrong. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly why: string,
  ) {
    super(`${field}: ${why}`);
    this.name = 'ConfigError';
  }
}

type Check = (v: unknown, field: string) => void;

const int = (min: number, max: number): Check => (v, field) => {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(field, `must be a whole number (got ${JSON.stringify(v)})`);
  if (v < min || v > max) throw new ConfigError(field, `must be from ${min} to ${max} (got ${v})`);
};
const num = (min: number): Check => (v, field) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= min) throw new ConfigError(field, `must be a number greater than ${min} (got ${JSON.stringify(v)})`);
};
const bool: Check = (v, field) => {
  if (typeof v !== 'boolean') throw new ConfigError(field, `must be true or false (got ${JSON.stringify(v)})`);
};
const oneOf = (xs: readonly string[]): Check => (v, field) => {
  if (typeof v !== 'string' || !xs.includes(v)) throw new ConfigError(field, `must be one of ${xs.join(', ')} (got ${JSON.stringify(v)})`);
};
const str = (maxLen: number): Check => (v, field) => {
  if (typeof v !== 'string' || v.length > maxLen || /[\n\r]/.test(v)) throw new ConfigError(field, `must be a one-line string of at most ${maxLen} characters`);
};
const INT = 2147483647;
/** A field a config may leave out (JSON has no undefined). */
const optional = (c: Check): Check => Object.assign((v: unknown, field: string) => (v === undefined ? undefined : c(v, field)), { optional: true });

/** The range of every field, as a recording's config must have it. */
const FSX_FIELDS: Record<keyof FsxOptions, Check> = {
  seed: int(1, INT),
  numops: int(-1, Number.MAX_SAFE_INTEGER),
  durationSec: int(0, 0), // a recording holds the ops a timed run made, not its time
  maxfilelen: int(1, MAX_FILE_LEN),
  maxoplen: int(1, MAX_OP_LEN),
  randomoplen: bool,
  readbdy: int(1, MAX_FILE_LEN),
  writebdy: int(1, MAX_FILE_LEN),
  truncbdy: int(1, MAX_FILE_LEN),
  style: int(0, 1),
  lite: bool,
  closeprob: int(0, INT),
  debug: bool,
  debugstart: int(0, INT),
  filldata: int(0, 255),
  flush: bool,
  doFsync: bool,
  sizechecks: bool,
  quiet: bool,
  progressinterval: int(0, INT),
  monitorstart: int(-1, INT),
  monitorend: int(-1, INT),
  prealloc: bool,
  keepExisting: bool,
  simulatedopcount: int(0, INT),
  checkFile: bool,
  polluteEof: bool,
  oDirect: bool,
  integrity: bool,
  logid: optional(str(255)),
  mappedReads: bool,
  mappedWrites: bool,
  fallocateCalls: bool,
  keepSizeCalls: bool,
  unshareRangeCalls: bool,
  punchHoleCalls: bool,
  zeroRangeCalls: bool,
  collapseRangeCalls: bool,
  insertRangeCalls: bool,
  cloneRangeCalls: bool,
  dedupeRangeCalls: bool,
  copyRangeCalls: bool,
  exchangeRangeCalls: bool,
  dontcacheIo: bool,
  atomicWrites: bool,
  awuMin: int(0, MAX_FILE_LEN),
  awuMax: int(0, MAX_FILE_LEN),
  blockSize: int(4096, 4096),
  pageSize: int(4096, 4096),
};

const MODEL_FIELDS: Record<keyof ModelOptions, Check> = {
  fs: oneOf(FS_NAMES),
  kernel: () => undefined, // checked by checkConfig: a design (record v2) or a built-in's name (v1)
  flip: bool,
  flippers: int(1, MAX_FLIPPERS),
  flipWeight: num(0),
  flipInterval: int(0, INT),
  initialDax: bool,
  sched: oneOf(SCHED_NAMES),
  pctDepth: int(1, 64),
  panicOnWarn: bool,
  hungSteps: int(1, Number.MAX_SAFE_INTEGER),
  mount: oneOf(['', 'none', 'dax', 'dax=always', 'dax=inode', 'dax=never']),
  dropCaches: int(0, 3),
  dropCachesInterval: int(1, INT),
  writeback: int(0, INT),
  closeOpenDrop: int(0, 3),
};

function checkObject<T>(v: unknown, field: string, checks: Record<string, Check>): T {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(field, 'must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(k in checks)) throw new ConfigError(`${field}.${k}`, 'unknown field');
  for (const [k, check] of Object.entries(checks)) {
    if (!(k in o) && !(check as { optional?: boolean }).optional) throw new ConfigError(`${field}.${k}`, 'missing');
    check(o[k], `${field}.${k}`);
  }
  return o as T;
}

/**
 * Check a config read from outside (a recording): every field present, of
 * its type and in its range, and no other field. Returns a fresh copy.
 */
export function checkConfig(v: unknown, format = 2): RunConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError('config', 'must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'fsx' && k !== 'model') throw new ConfigError(k, 'unknown field');
  const fsx = checkObject<FsxOptions>(o.fsx, 'fsx', FSX_FIELDS);
  const model = checkObject<ModelOptions>(o.model, 'model', MODEL_FIELDS);
  return { fsx: { ...fsx }, model: { ...model, kernel: checkKernel((o.model as { kernel: unknown }).kernel, format) } };
}

/** A record's model.kernel: v1 names a built-in design, v2 holds the design itself. */
function checkKernel(v: unknown, format: number): Design {
  if (format < 2) {
    if (typeof v !== 'string' || !isDesignName(v)) throw new ConfigError('model.kernel', `must be one of ${DESIGN_NAMES.join(', ')} (got ${JSON.stringify(v)})`);
    return DESIGNS[v];
  }
  try {
    return checkDesign(v);
  } catch (e) {
    if (e instanceof DesignError) throw new ConfigError(`model.kernel.${e.field}`, e.why);
    throw e;
  }
}

/** The fields in which two configs differ, as 'fsx.seed' paths. */
export function configDiff(a: RunConfig, b: RunConfig): string[] {
  const out: string[] = [];
  for (const part of ['fsx', 'model'] as const) {
    const x = a[part] as unknown as Record<string, unknown>;
    const y = b[part] as unknown as Record<string, unknown>;
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) if (x[k] !== y[k] && JSON.stringify(x[k]) !== JSON.stringify(y[k])) out.push(`${part}.${k}`);
  }
  return out;
}
