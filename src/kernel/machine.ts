import { RandomStrategy } from '../sched/random.js';
import { Scheduler } from '../sched/scheduler.js';
import { makePrng, type Strategy } from '../sched/strategy.js';
import { Task } from '../sched/task.js';
import { DESIGNS, versionNumber, type Design, type DesignName } from './designs.js';
import { Kernel, type DaxMount } from './core.js';
import { EXT4 } from './ext4/file.js';
import { XFS } from './xfs/file.js';
import { dropCachesTask } from './fs/drop_caches.js';
import { flusherTask } from './fs/fs-writeback.js';
import { defaultMount, mountLog, parseMount } from './fs/super.js';
import { ModelFile } from './syscalls.js';
import { Trace } from './trace.js';

export interface MachineOptions {
  fs: 'xfs' | 'ext4';
  /** The design, or a built-in design's name. */
  kernel: Design | DesignName;
  /** The file's on-disk DAX flag at the start (on ext4 before 5.8: data journalling off). */
  initialDax: boolean;
  panicOnWarn: boolean;
  maxFileLen: number;
  seed: number;
  trace: boolean;
  hungSteps: number;
  /** The DAX mount option ('' for the release's default): see fs/super.ts. */
  mount: string;
  /** What fsx's -c writes to drop_caches (3; 0 for fsx before 2020). */
  closeOpenDrop: number;
}

/** One modelled machine: the kernel, its scheduler, and the fsx task with its file. */
export interface Machine {
  k: Kernel;
  sched: Scheduler;
  fsx: Task;
  file: ModelFile;
}

export const FSX_PID = 6052;
export const FLIPPER_PID = 6060;
export const DROP_CACHES_PID = 6090;
export const FLUSHER_PID = 147;

/** A mount option the release would refuse. */
export class MountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MountError';
  }
}

/** The DAX mount option for a design and file system: `text`, or the release's default when empty. */
export function mountFor(kernel: Design, fs: 'xfs' | 'ext4', text: string): DaxMount {
  const v = versionNumber(kernel.base);
  if (!text) return defaultMount(v, fs);
  const m = parseMount(v, text);
  if (typeof m !== 'string') throw new MountError(`--mount ${m.error}`);
  return m;
}

/** A machine with the file on disk and not yet in memory: the first open loads it. */
export function buildMachine(o: Partial<MachineOptions> = {}, strategy?: Strategy): Machine {
  const opts: MachineOptions = {
    fs: 'xfs',
    kernel: 'immediate',
    initialDax: true,
    panicOnWarn: false,
    maxFileLen: 256 * 1024,
    seed: 1,
    trace: true,
    hungSteps: 200000,
    mount: '',
    closeOpenDrop: 3,
    ...o,
  };
  const sched = new Scheduler(strategy ?? new RandomStrategy(makePrng(opts.seed, 'sched')), opts.hungSteps);
  const trace = new Trace(sched, opts.trace);
  const design = typeof opts.kernel === 'string' ? DESIGNS[opts.kernel] : opts.kernel;
  const mount = mountFor(design, opts.fs, opts.mount);
  const k = new Kernel(opts.fs === 'xfs' ? XFS : EXT4, design, trace, sched, opts.maxFileLen, opts.initialDax, opts.panicOnWarn, mount);
  k.closeOpenDrop = opts.closeOpenDrop;
  const fsx = new Task(FSX_PID, 'fsx', 3);
  return { k, sched, fsx, file: new ModelFile(k, fsx) };
}

/** The lines the file system logged at mount, for the kernel log (the release comes from the oops machine). */
export function bootLog(k: Kernel): { mount: string[] } {
  return { mount: mountLog(k.fs.name, k.mount) };
}

/** A flipper task (comm xfs_io) with its own pid and CPU. */
export function flipperTaskFor(i: number): Task {
  return new Task(FLIPPER_PID + i, 'xfs_io', i % 2 === 0 ? 1 : 2);
}

/**
 * The optional background tasks: a shell loop writing `dropCaches` (1, 2
 * or 3) to /proc/sys/vm/drop_caches, and the flusher thread's background
 * writeback; each wakes every so many steps on average (0: not there).
 */
export function addBackgroundTasks(m: Machine, seed: number, o: { dropCaches: number; dropCachesInterval: number; writeback: number }): Task[] {
  const tasks: Task[] = [];
  if (o.dropCaches > 0) {
    const t = new Task(DROP_CACHES_PID, 'bash', 0);
    m.sched.add(t, dropCachesTask(m.k, t, makePrng(seed, 'drop_caches'), o.dropCaches, o.dropCachesInterval, m.sched));
    tasks.push(t);
  }
  if (o.writeback > 0) {
    const t = new Task(FLUSHER_PID, 'kworker/u8:2', 0);
    m.sched.add(t, flusherTask(m.k, t, makePrng(seed, 'writeback'), o.writeback, m.sched));
    tasks.push(t);
  }
  return tasks;
}
