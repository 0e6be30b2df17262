/**
 * A run's schedule as data (loom's `Path`, Shuttle's `Schedule`): for each
 * flip, where fsx was when the flipper became runnable, and the choices the
 * scheduler made while both could run. Replay follows one, shrink edits one,
 * explore finds one; `.fsxops` files carry one on '#' lines.
 */
export interface FlipSpec {
  /** fsx's op number (0: before the first op) and its steps into that op. */
  op: number;
  tick: number;
  /** Choices while two tasks could run: 'f' fsx, '0'.. a flipper. Empty: the flipper runs. */
  choices: string;
}

export type Schedule = FlipSpec[];

/**
 * Where fsx is: the op it is in and how many of its steps into that op.
 * The anchor of a scripted flip. Advanced by the strategy wrapper that sees
 * every step (`Positioned`), read by anchors and recorders.
 */
export class FsxPosition {
  op = 0;
  tick = 0;
  /** Keep the number of steps of each op fsx finished, for ticksIn() (a script's run: a long run would hold one per op). */
  keepLengths = false;
  private readonly lengths: number[] = [];
  constructor(private readonly opNow: () => number) {}

  /** fsx is about to run a step. */
  advance(): void {
    const op = this.opNow();
    if (op !== this.op) {
      if (this.keepLengths) this.lengths[this.op] = this.tick + 1;
      this.op = op;
      this.tick = 0;
    } else this.tick++;
  }

  /**
   * How many anchors in `op` this run tells apart: an anchor at that tick or
   * later was reached only when fsx had left the op (or never, when the run
   * ended in it or before it), the same moment for all of them.
   */
  ticksIn(op: number): number {
    if (!this.keepLengths) throw new Error('FsxPosition.ticksIn: the run did not keep its ops\' lengths (keepLengths)');
    if (op < this.op) return this.lengths[op] ?? 0;
    return op === this.op ? this.tick + 1 : 0;
  }

  reached(op: number, tick: number): boolean {
    return this.op > op || (this.op === op && this.tick >= tick);
  }
}
