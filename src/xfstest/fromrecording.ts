import { fsxArgvOf } from '../core/argv.js';
import type { RunConfig } from '../core/config.js';
import { parseOps } from '../fsx/fsxops.js';
import { RecordError, readRecord } from '../replay/recording.js';
import { EXIT_FILE, EXIT_PARSE, XfstestError, type XfstestInput } from './input.js';

/**
 * The adapter from a daxfsx recording (its record: the run's config, origin
 * and schedule; its `# daxfsx` summary line) to the generator's input. Only
 * this file knows that format.
 */

/** What a recording says, read from its text. */
export interface RecordingFacts {
  config: RunConfig;
  opLines: string[];
  origin: 'generated' | 'replayed' | 'script';
  /** Flag changes the recording shows: a script's flips, or the count in its summary line. */
  flipCount?: number;
  verdict?: string;
  signature?: string;
}

/** Read the facts a test needs from a recording's text; throws XfstestError for a file that is not one. */
export function recordingFacts(text: string, source: string): RecordingFacts {
  let rec;
  try {
    rec = readRecord(text, source);
  } catch (e) {
    if (e instanceof RecordError) throw new XfstestError(e.message, EXIT_PARSE);
    throw e;
  }
  if (!rec) throw new XfstestError(`${source}: not a daxfsx recording (no daxfsx record); record the run with daxfsx, or shrink it`, EXIT_FILE);
  const parsed = parseOps(text, source);
  if (parsed.error) throw new XfstestError(`${parsed.error.message}: parse error`, EXIT_PARSE);
  const opLines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).map((l) => l.trim());
  const facts: RecordingFacts = { config: rec.config, opLines, origin: rec.origin.kind };
  if (rec.origin.kind === 'script') facts.flipCount = rec.schedule.length;
  for (const line of text.split('\n')) {
    if (!/^# daxfsx \S+: /.test(line)) continue;
    const changes = /(\d+) flag changes/.exec(line);
    if (changes && facts.flipCount === undefined) facts.flipCount = Number(changes[1]);
    const found = /(?:minimal run for|explore found) (.+?)(?: in (.+?))?; /.exec(line);
    if (found) {
      facts.verdict = found[1];
      facts.signature = found[2];
    }
  }
  return facts;
}

/** Options of a run that a test cannot use as recorded, with why. */
function dropped(c: RunConfig): string[] {
  const out: string[] = [];
  if (c.fsx.integrity) out.push('-i (integrity mode needs a dm-log-writes device)');
  if (c.fsx.keepExisting) out.push('-k (it starts from an existing file the recording does not hold)');
  if (c.fsx.lite) out.push('-L (it starts from an existing file the recording does not hold)');
  return out;
}

export interface TestChoices {
  /** Overrides the recording's --fs. */
  fs?: 'xfs' | 'ext4';
  number: number;
  year: number;
}

/** The generator's input from a recording's facts. */
export function inputFromFacts(facts: RecordingFacts, source: string, choices: TestChoices): XfstestInput {
  const c = facts.config;
  // fsx's own options only, without those the test cannot use (fsx takes none of daxfsx's)
  const fsx = { ...c.fsx, integrity: false, keepExisting: false, lite: false, durationSec: 0 };
  const design = c.model.kernel;
  const flip = c.model.flip;
  const script = facts.origin === 'script';
  return {
    fs: choices.fs ?? c.model.fs,
    design: { name: design.name, kernel: design.base, summary: design.summary },
    fsxArgs: fsxArgvOf(fsx),
    opLines: facts.opLines,
    flips: {
      flippers: !flip ? 0 : script ? 1 : c.model.flippers,
      count: !flip ? 0 : facts.flipCount,
      initialDax: c.model.initialDax,
      meanIntervalSteps: flip && !script ? c.model.flipInterval : undefined,
    },
    verdict: facts.verdict,
    signature: facts.signature,
    source,
    dropped: dropped(c),
    number: choices.number,
    year: choices.year,
  };
}
