import { cInt, fsxGetnum, getnum, strtoll } from './getnum.js';

/**
 * What fsx prints while it parses its command line, and where it stops.
 *
 * fsx's main() handles its options one by one, in the order given (getopt),
 * and the rules below follow from that:
 *
 * - `-b N`, `-c P` and `-W` print a line through prt() unless -q came
 *   *earlier* (quiet is a variable the loop sets when it meets -q).
 * - prt() prefixes `LOGID: ` when the logid variable is set, and -j sets it
 *   when the loop meets -j: so only lines of options after -j get the prefix
 *   (and each gets the -j value current at that point). `-j ''` sets it too,
 *   to an empty string: the prefix is then ': '.
 * - prt() goes to standard output, and to the .fsxlog only once that file is
 *   open, which is after parsing: none of these lines is in the log.
 * - Each option is checked as it is parsed; a bad value calls usage()
 *   (usage text on standard output, exit 90) at once, so lines of options
 *   before it are printed and options after it are not looked at. -b and -c
 *   print their line before their check (`-c 0` prints "... 1 in 0" first).
 * - Values go through fsx's getnum() (strtoll, a multiplier letter, text after
 *   the number ignored) into the C type of the variable: -c is an int, so
 *   `-c 4294967306` is 10; -b is a long long and may be negative.
 * - `-a` prints nothing (an early version of the patch printed
 *   "main(): Atomic writes disabled"; the fsx the vectors came from does not).
 * - `-s` is range-checked (0 or 1) and prints nothing.
 * - `--duration=S` is handled when met: 0 (or no number) exits 0 at once,
 *   silently; a negative value prints "S: invalid duration" on standard error
 *   and exits 88.
 * - After the loop: not exactly one file name, -A with -U ("-A and -U
 *   shouldn't be used together" on standard error), -i without -P ("option -i
 *   <logdev> requires -P <dirpath>" on standard error) each end in usage().
 *
 * daxfsx does not print fsx's usage text; where fsx would, `why` says in one
 * line what was wrong, for daxfsx to print on standard error.
 */

/** One option as given on the command line: fsx's letter ('b', 'q', ...) or long name ('duration'), and its value. */
export interface OptionUse {
  opt: string;
  value?: string;
}

export type Stream = 'stdout' | 'stderr';

/** A line fsx prints, with the prefix fsx gives it, without the newline. */
export interface ParseLine {
  stream: Stream;
  text: string;
}

/** Where fsx stops during parsing: its exit code, and for usage() exits what daxfsx says instead of the usage text. */
export interface ParseStop {
  code: number;
  why: string;
}

export interface ParseOutcome {
  lines: ParseLine[];
  stop?: ParseStop;
}

const USAGE = 90;

/** The checks fsx makes on an option's value when it meets it: null if fine, else why it is not. */
type Check = (v: bigint) => string | null;

const positiveInt: Check = (v) => (cInt(v) <= 0 ? 'must be greater than 0' : null);
const zeroOrOne: Check = (v) => (cInt(v) < 0 || cInt(v) > 1 ? 'must be 0 or 1' : null);

/** fsx's range checks, by option letter, on the value in the variable's C type. */
const CHECKS: Record<string, Check> = {
  e: zeroOrOne,
  s: zeroOrOne,
  l: (v) => (BigInt.asUintN(64, v) === 0n ? 'must be greater than 0' : null),
  o: positiveInt,
  r: positiveInt,
  t: positiveInt,
  w: positiveInt,
  p: (v) => (v === 0n ? 'must not be 0' : null),
  D: (v) => (v < 1n ? 'must be at least 1' : null),
  N: (v) => (v < 0n ? 'must not be negative' : null),
  S: (v) => (cInt(v) < 0 ? 'must not be negative (it is a C int)' : null),
};

/** fsx's -m start:end: start >= 0, a ':' right after it, end >= 0. */
function checkMonitor(raw: string): string | null {
  const start = fsxGetnum(raw);
  if (start.value < 0n) return 'the start must not be negative';
  if (!start.rest.startsWith(':')) return `expected start:end, got '${raw}'`;
  if (fsxGetnum(start.rest.slice(1)).value < 0n) return 'the end must not be negative';
  return null;
}

/** The lines fsx prints while parsing these options (in command-line order) and the test file names, and where it stops. */
export function fsxParseMessages(uses: readonly OptionUse[], files: readonly string[]): ParseOutcome {
  const lines: ParseLine[] = [];
  let quiet = false;
  let logid: string | undefined;
  let aio = false;
  let uring = false;
  let integrity = false;
  let dirpath = false;
  const prt = (text: string): void => {
    lines.push({ stream: 'stdout', text: logid !== undefined ? `${logid}: ${text}` : text });
  };
  const usage = (why: string): ParseOutcome => ({ lines, stop: { code: USAGE, why } });
  /** daxfsx's words for a value fsx refuses: a text that is no number says so. */
  const bad = (opt: string, raw: string, why: string): ParseOutcome =>
    usage(getnum(raw) === undefined ? `option -${opt}: '${raw}' is not a number` : `option -${opt}: ${why} (got ${raw})`);

  for (const { opt, value } of uses) {
    const raw = value ?? '';
    switch (opt) {
      case 'q':
        quiet = true;
        break;
      case 'j':
        logid = raw;
        break;
      case 'b': {
        const v = fsxGetnum(raw).value;
        if (!quiet) prt(`Will begin at operation ${v}`);
        if (v === 0n) return bad('b', raw, 'must not be 0');
        break;
      }
      case 'c': {
        const v = cInt(fsxGetnum(raw).value);
        if (!quiet) prt(`Chance of close/open is 1 in ${v}`);
        if (v <= 0) return bad('c', raw, 'must be greater than 0');
        break;
      }
      case 'W':
        if (!quiet) prt('mapped writes DISABLED');
        break;
      case 'm': {
        const why = checkMonitor(raw);
        if (why) return usage(`option -m: ${why}`);
        break;
      }
      case 'A':
        aio = true;
        break;
      case 'U':
        uring = true;
        break;
      case 'i':
        integrity = true;
        break;
      case 'P':
        dirpath = true;
        break;
      case 'duration': {
        const d = strtoll(raw).value;
        if (d === 0n) return { lines, stop: { code: 0, why: `--duration=${raw}: no time to run, fsx exits at once` } };
        if (d < 0n) {
          lines.push({ stream: 'stderr', text: `${d}: invalid duration` });
          return { lines, stop: { code: 88, why: '' } };
        }
        break;
      }
      default: {
        const check = CHECKS[opt];
        const why = check?.(fsxGetnum(raw).value);
        if (why) return bad(opt, raw, why);
      }
    }
  }
  if (files.length !== 1) {
    return usage(files.length === 0 ? 'the test file name is required (daxfsx [options] FILE)' : `one test file only, got ${files.length}: ${files.join(' ')}`);
  }
  if (aio && uring) {
    lines.push({ stream: 'stderr', text: "-A and -U shouldn't be used together" });
    return usage('');
  }
  if (integrity && !dirpath) {
    lines.push({ stream: 'stderr', text: 'option -i <logdev> requires -P <dirpath>' });
    return usage('');
  }
  return { lines };
}
