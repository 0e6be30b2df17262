import { readFileSync } from 'node:fs';

/**
 * daxfsx's own data on the '#' lines of a .fsxops file. xfstests fsx skips
 * these lines (it reads lines of at most 255 characters, so long values are
 * split over continuation lines). They make a recorded run replay exactly:
 *
 *   # daxfsx-args: ["-q","-S","4","-N","20000"]      the options that decide the run
 *   # daxfsx-origin: generated seed=4 first-op=1     how the op lines came to be
 *
 * A run whose ops came from the seed's stream ("generated") replays by
 * drawing the same stream again and checking every op line against it, so
 * the schedule, the data and the verdict are the original ones.
 */

const ARGS = '# daxfsx-args: ';
const ARGS_MORE = '# daxfsx-args+ ';
const ORIGIN = '# daxfsx-origin: ';
const CHUNK = 200;

/** Options that only say where outputs go, or what to replay: not part of what decides a run. */
const OUTPUT_ONLY = new Set(['--replay-ops', '--record-ops', '--summary', '--log-json', '-P', '--dir']);
const OUTPUT_FLAGS = new Set(['--no-color', '--color']);

/** The command-line arguments that decide a run: argv less the file name and the output options. */
export function decidingArgs(argv: string[], fname: string): string[] {
  const out: string[] = [];
  const fileAt = argv.lastIndexOf(fname);
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (i === fileAt) continue;
    if (OUTPUT_FLAGS.has(s)) continue;
    const name = s.startsWith('--') ? s.split('=')[0] : s;
    if (OUTPUT_ONLY.has(name)) {
      // a separate value follows unless it was attached with '=' (or the option takes none)
      if (!s.includes('=') && name !== '--record-ops' && i + 1 < argv.length && i + 1 !== fileAt) i++;
      continue;
    }
    out.push(s);
  }
  return out;
}

export interface Origin {
  kind: 'generated' | 'replayed' | 'script';
  seed: number;
  firstOp: number;
}

export function headerLines(args: string[], origin: Origin, summary: string): string[] {
  const json = JSON.stringify(args);
  const lines: string[] = [`# daxfsx ${summary}`];
  for (let i = 0; i < json.length || i === 0; i += CHUNK) lines.push((i === 0 ? ARGS : ARGS_MORE) + json.slice(i, i + CHUNK));
  lines.push(`${ORIGIN}${origin.kind} seed=${origin.seed} first-op=${origin.firstOp}`);
  return lines;
}

export interface Recording {
  args: string[];
  origin: Origin | null;
}

/** Read daxfsx's '#' data from the text of a .fsxops file; null when it has none. */
export function readRecording(text: string): Recording | null {
  let json = '';
  let origin: Origin | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith(ARGS)) json = line.slice(ARGS.length);
    else if (line.startsWith(ARGS_MORE)) json += line.slice(ARGS_MORE.length);
    else if (line.startsWith(ORIGIN)) {
      const m = /^(generated|replayed|script) seed=(\d+) first-op=(\d+)/.exec(line.slice(ORIGIN.length));
      if (m) origin = { kind: m[1] as Origin['kind'], seed: Number(m[2]), firstOp: Number(m[3]) };
    }
  }
  if (!json) return null;
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch {
    return null;
  }
  if (!Array.isArray(args) || !args.every((x) => typeof x === 'string')) return null;
  return { args: args as string[], origin };
}

/** The --replay-ops file named on a command line, if any. */
export function replayFileOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s.startsWith('--replay-ops=')) return s.slice('--replay-ops='.length);
    if (s === '--replay-ops' && i + 1 < argv.length) return argv[i + 1];
  }
  return undefined;
}

/** The recording in a replay file, or null (missing, unreadable, or fsx's own). */
export function recordingOf(path: string): Recording | null {
  try {
    return readRecording(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}
