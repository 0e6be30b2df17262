import { Command, CommanderError } from 'commander';
import { addRunOptions, recordOptionUses } from '../cli/fsxargs.js';
import { parseOps } from '../fsx/fsxops.js';
import type { OptionUse } from '../fsx/parsemessages.js';
import { DESIGNS, DESIGN_NAMES, type DesignName } from '../kernel/designs.js';
import { readRecording } from '../replay/recording.js';
import { readScript } from '../replay/script.js';
import { EXIT_FILE, EXIT_PARSE, XfstestError, type XfstestInput } from './input.js';

/**
 * The adapter from today's .fsxops recording (daxfsx's '#' lines:
 * `# daxfsx-args`, `# daxfsx-origin`, the `# daxfsx` summary, a script's
 * `# daxfsx-flip` lines) to the generator's input. Only this file knows that
 * format.
 */

/** fsx's option letters that take a value. */
const FSX_VALUE = new Set('bcegijlmoprstwDNPS'.split(''));
/** fsx's letters without a value. */
const FSX_FLAG = new Set('dfknquxyzhABCEFHIJKLORTUWXZ0a'.split(''));
/** fsx options a test cannot use as recorded, with why. */
const DROP: Record<string, string> = {
  P: '-P (where fsx writes its logs: the test leaves them beside the file)',
  i: '-i (integrity mode needs a dm-log-writes device)',
  k: '-k (it starts from an existing file the recording does not hold)',
  L: '-L (it starts from an existing file the recording does not hold)',
  duration: '--duration (the test has its own time budget)',
};

/** What a recording says, read from its text. */
export interface RecordingFacts {
  args: string[];
  opLines: string[];
  origin: 'generated' | 'replayed' | 'script' | undefined;
  /** Flag changes the recording shows: a script's flips, or the count in its summary line. */
  flipCount?: number;
  verdict?: string;
  signature?: string;
}

/** Read the facts a test needs from a recording's text; throws XfstestError for a file that is not one. */
export function recordingFacts(text: string, source: string): RecordingFacts {
  const rec = readRecording(text);
  if (!rec) throw new XfstestError(`${source}: not a daxfsx recording (no '# daxfsx-args' line); record the run with daxfsx, or shrink it`, EXIT_FILE);
  const parsed = parseOps(text, source);
  if (parsed.error) throw new XfstestError(`${parsed.error.message}: parse error`, EXIT_PARSE);
  const opLines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).map((l) => l.trim());
  const facts: RecordingFacts = { args: rec.args, opLines, origin: rec.origin?.kind };
  if (rec.origin?.kind === 'script') facts.flipCount = readScript(text, parsed.ops, rec.args).flips.length;
  for (const line of text.split('\n')) {
    if (!/^# daxfsx \S+: /.test(line)) continue;
    const changes = /(\d+) flag changes/.exec(line);
    if (changes && facts.flipCount === undefined) facts.flipCount = Number(changes[1]);
    const min = /minimal run for (.+?)(?: in (.+?))?; /.exec(line);
    if (min) {
      facts.verdict = min[1];
      facts.signature = min[2];
    }
  }
  return facts;
}

interface ParsedArgs {
  uses: OptionUse[];
  opts: Record<string, unknown>;
}

/** The recorded daxfsx command line, parsed with the run command's own option table. */
function parseArgs(args: string[], source: string): ParsedArgs {
  const cmd = addRunOptions(new Command('daxfsx'));
  cmd.allowExcessArguments(true).exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  const uses: OptionUse[] = [];
  recordOptionUses(cmd, uses);
  try {
    cmd.parse(args.map((a) => (a === '--record-ops' ? '--record-ops=' : a)), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new XfstestError(`${source}: its recorded options do not parse: ${e.message.replace(/^error: /, '')}`, EXIT_FILE);
    throw e;
  }
  return { uses, opts: cmd.opts() };
}

/** fsx's own options of the run, as fsx's command line, and those left out. */
function fsxArgsOf(uses: OptionUse[]): { fsxArgs: string[]; dropped: string[] } {
  const fsxArgs: string[] = [];
  const dropped: string[] = [];
  for (const { opt, value } of uses) {
    if (DROP[opt]) {
      if (!dropped.includes(DROP[opt])) dropped.push(DROP[opt]);
    } else if (FSX_VALUE.has(opt)) fsxArgs.push(`-${opt}`, value ?? '');
    else if (FSX_FLAG.has(opt)) fsxArgs.push(`-${opt}`);
    // anything else is daxfsx's own (the model, its reports) or says where outputs go
  }
  return { fsxArgs, dropped };
}

export interface TestChoices {
  /** Overrides the recording's --fs. */
  fs?: 'xfs' | 'ext4';
  number: number;
  year: number;
}

/** The generator's input from a recording's facts. */
export function inputFromFacts(facts: RecordingFacts, source: string, choices: TestChoices): XfstestInput {
  const { uses, opts } = parseArgs(facts.args, source);
  const { fsxArgs, dropped } = fsxArgsOf(uses);
  const name = String(opts.kernel) as DesignName;
  if (!DESIGN_NAMES.includes(name)) throw new XfstestError(`${source}: unknown design '${name}' in its recorded options`, EXIT_FILE);
  const design = DESIGNS[name];
  const flip = opts.flip !== false;
  const script = facts.origin === 'script';
  return {
    fs: choices.fs ?? (opts.fs === 'ext4' ? 'ext4' : 'xfs'),
    design: { name, kernel: design.base, summary: design.summary },
    fsxArgs,
    opLines: facts.opLines,
    flips: {
      flippers: !flip ? 0 : script ? 1 : Number(opts.flippers),
      count: !flip ? 0 : facts.flipCount,
      initialDax: opts.initialDax !== 'off',
      meanIntervalSteps: flip && !script ? Number(opts.flipInterval) : undefined,
    },
    verdict: facts.verdict,
    signature: facts.signature,
    source,
    dropped,
    number: choices.number,
    year: choices.year,
  };
}
