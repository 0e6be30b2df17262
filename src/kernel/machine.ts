import { RandomStrategy } from '../sched/random.js';
import { Scheduler } from '../sched/scheduler.js';
import { makePrng, type Strategy } from '../sched/strategy.js';
import { Task } from '../sched/task.js';
import { DESIGNS, type DesignName } from './designs.js';
import { Kernel } from './core.js';
import { EXT4 } from './ext4/file.js';
import { XFS } from './xfs/file.js';
import { ModelFile } from './syscalls.js';
import { Trace } from './trace.js';

export interface MachineOptions {
  fs: 'xfs' | 'ext4';
  kernel: DesignName;
  initialDax: boolean;
  panicOnWarn: boolean;
  maxFileLen: number;
  seed: number;
  trace: boolean;
  hungSteps: number;
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
    ...o,
  };
  const sched = new Scheduler(strategy ?? new RandomStrategy(makePrng(opts.seed, 'sched')), opts.hungSteps);
  const trace = new Trace(sched, opts.trace);
  const k = new Kernel(opts.fs === 'xfs' ? XFS : EXT4, DESIGNS[opts.kernel], trace, sched, opts.maxFileLen, opts.initialDax, opts.panicOnWarn);
  const fsx = new Task(FSX_PID, 'fsx', 3);
  return { k, sched, fsx, file: new ModelFile(k, fsx) };
}

/** A flipper task (comm xfs_io) with its own pid and CPU. */
export function flipperTaskFor(i: number): Task {
  return new Task(FLIPPER_PID + i, 'xfs_io', i % 2 === 0 ? 1 : 2);
}
