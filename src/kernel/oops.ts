/**
 * The simulated kernel log and the reports the kernel writes into it. The
 * formats follow the kernel the design's paths come from (Machine.base:
 * 4.13/4.14, or 5.8/5.11); the pieces live in ./oops/: machine.ts (release,
 * taint, per-boot state), symbols.ts (func+off/size, inlined frames),
 * regs.ts (addresses, registers, code bytes), lockdep.ts (lock lists),
 * reports.ts (oops, BUG, WARN, hung task, and daxfsx's words for a fault
 * that never completes).
 */
export { machineFor, releaseOf, printTainted, type Machine, type BootState } from './oops/machine.js';
export { symbol, INLINED } from './oops/symbols.js';
export {
  panicText,
  warningText,
  hungText,
  hungReport,
  hungReportStep,
  HUNG_TIMEOUT_S,
  noProgressText,
  softLockupText,
  printedFrames,
  type NoProgress,
} from './oops/reports.js';
export { lockList, heldLocks } from './oops/lockdep.js';

/** The simulated kernel log: lines stamped with simulated time. */
export class Dmesg {
  readonly lines: string[] = [];
  /** Taint flags set so far, by letter ('W' once a WARN has been logged); '' for none. */
  tainted = '';

  constructor(private readonly clock: { step: number }) {}

  /** Simulated time: the machine booted 300 s before the run, one step is a microsecond. */
  stamp(step = this.clock.step): string {
    const us = 300_000_000 + step;
    const s = Math.floor(us / 1e6);
    return `[${String(s).padStart(5)}.${String(us % 1e6).padStart(6, '0')}] `;
  }

  log(text: string, step?: number): void {
    const st = this.stamp(step);
    for (const l of text.split('\n')) this.lines.push(st + l);
  }

  text(): string {
    return this.lines.length ? this.lines.join('\n') + '\n' : '';
  }
}
