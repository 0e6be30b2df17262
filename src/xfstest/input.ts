/**
 * What an xfstests test of a daxfsx finding is made from. Built from a
 * recording by an adapter (fromrecording.ts); the generator (generate.ts)
 * knows nothing of daxfsx's file formats.
 */
export interface XfstestInput {
  /** The file system the model ran; xfs gives tests/xfs/NNN, ext4 tests/generic/NNN. */
  fs: 'xfs' | 'ext4';
  /** The model's design: its name, the kernel release its paths come from, and what it does. */
  design: { name: string; kernel: string; summary: string };
  /** fsx's own options for the run, seed included (no daxfsx options, no output or replay options). */
  fsxArgs: string[];
  /** The recorded operations as fsx replays them (no '#' lines). */
  opLines: string[];
  /** The recording's flipper(s): how many tasks, how many flag changes it saw (if known), the file's mode at the start. */
  flips: { flippers: number; count?: number; initialDax: boolean; meanIntervalSteps?: number };
  /** What the model found, if the recording says ('oops', 'hung', 'READ BAD DATA', ...). */
  verdict?: string;
  /** Where (the function, or the check) when the recording says. */
  signature?: string;
  /** The recording's file name, for the header. */
  source: string;
  /** Options of the recording the test leaves out, with why (said in the header). */
  dropped: string[];
  /** The test number: a placeholder the maintainer replaces. */
  number: number;
  /** The year for the copyright line. */
  year: number;
}

/** The generated test: paths relative to an xfstests checkout, and their contents. */
export interface XfstestFiles {
  testPath: string;
  outPath: string;
  script: string;
  out: string;
}

/** A recording or input that cannot become a test: one line, and the exit code. */
export class XfstestError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'XfstestError';
  }
}

/** daxfsx's usage exit: also for a recording with nothing to flip. */
export const EXIT_USAGE = 90;
/** The project's code for a file that is not what it should be (not a recording, unreadable). */
export const EXIT_FILE = 93;
/** An op line that does not parse (fsx's replay parse error). */
export const EXIT_PARSE = 100;
/** An output that cannot be written. */
export const EXIT_OUTPUT = 94;
