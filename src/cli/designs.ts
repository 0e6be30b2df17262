import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../core/outcome.js';
import { DESIGNS, DESIGN_NAMES, DesignError, FIXED_DECISIONS, KNOBS, designsDir, isDesignName, parseDesign, type Design } from '../kernel/designs.js';
import { OutputError, UsageError, errText } from '../util/errors.js';
import type { Sink } from '../util/sink.js';

/** Read a design file: one line naming the file and the field for anything wrong (exit 93). */
export function loadDesignFile(file: string): Design {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new OutputError(`${file}: ${errText(e)}`, EXIT.FILE);
  }
  try {
    return parseDesign(text, file);
  } catch (e) {
    if (e instanceof DesignError) throw new OutputError(`${file}: ${e.field}: ${e.why}`, EXIT.FILE);
    throw e;
  }
}

/** What --kernel names: a built-in design, or (a path: it has '/' or ends in .json) a design file. */
export function designArg(s: string): Design {
  if (isDesignName(s)) return DESIGNS[s];
  if (s.includes('/') || s.endsWith('.json')) return loadDesignFile(s);
  throw new UsageError(`option '--kernel <design>' argument '${s}' is invalid: a design's name (${DESIGN_NAMES.join(', ')}) or a design file (a path with '/' or ending in .json)`);
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ')).join('\n') + '\n';
}

/** The knobs of one design as a table, and its source. */
export function showDesign(d: Design, where: string): string {
  const rows = [['knob', 'value', 'kernel function']];
  for (const k of KNOBS) rows.push([k.name, String(d[k.name]), k.kernel]);
  return `design ${d.name} (${where})\n  ${d.summary}\n  source: ${d.source}\n\n${table(rows)}`;
}

/** `daxfsx designs knobs`: every knob, what it changes and its kernel function. */
export function knobsText(): string {
  const out: string[] = ['A design is a JSON file: "name" (default: the file name), "summary", "source" (a commit, a mail, or "hypothetical"), and every knob below.', ''];
  for (const k of KNOBS) {
    out.push(`${k.name}: ${k.values}`);
    out.push(`  changes:  ${k.changes}`);
    out.push(`  kernel:   ${k.kernel}`);
    out.push(`  read on base ${k.readOn.join(', ')}${k.readOn.length < 4 ? ' (set away from its default on another base, it contradicts "base": an error)' : ''}`);
  }
  out.push('', 'IS_DAX decisions the paths make one way only (not knobs):', ...FIXED_DECISIONS.map((f) => `  ${f}`));
  return out.join('\n') + '\n';
}

const USAGE = 'Usage: daxfsx designs list | show NAME|FILE | knobs | search [options]\n  The designs --kernel takes: the built-in ones (designs/*.json) or a design file.\n  search: every combination of the knobs through a sweep and an exploration; the minimal safe designs (daxfsx designs search --help).\n';

/** `daxfsx designs ...` */
export function runDesignsCli(argv: string[], io: { stdout: Sink; stderr: Sink }): number {
  const [sub, arg, ...rest] = argv;
  try {
    if (sub === '--help' || sub === '-h' || sub === undefined) {
      (sub ? io.stdout : io.stderr).write(USAGE);
      return sub ? 0 : EXIT.USAGE;
    }
    if (sub === 'list' && arg === undefined) {
      const rows = [['name', 'base', 'source']];
      for (const n of DESIGN_NAMES) rows.push([n, DESIGNS[n].base, DESIGNS[n].source]);
      io.stdout.write(table(rows));
      return 0;
    }
    if (sub === 'knobs' && arg === undefined) {
      io.stdout.write(knobsText());
      return 0;
    }
    if (sub === 'show' && arg !== undefined && !rest.length) {
      const d = designArg(arg);
      io.stdout.write(showDesign(d, isDesignName(arg) ? `built in: ${join(designsDir(), `${arg}.json`)}` : arg));
      return 0;
    }
    throw new UsageError(`designs: expected list, show NAME|FILE, knobs or search (got ${argv.join(' ') || 'nothing'})`);
  } catch (e) {
    if (e instanceof UsageError || e instanceof OutputError) {
      io.stderr.write(`daxfsx: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
