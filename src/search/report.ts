import { KNOBS } from '../kernel/designs.js';
import type { DesignResult } from './search.js';

function table(rows: string[][]): string[] {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ').trimEnd());
}

const costText = (r: DesignResult): string => (r.cost.length ? r.cost.join('; ') : 'none');

function seedList(seeds: readonly number[]): string {
  const list = seeds.length <= 3 ? seeds.join(',') : `${seeds.slice(0, 2).join(',')},... (${seeds.length})`;
  return `${seeds.length > 1 ? 'seeds' : 'seed'} ${list}`;
}

/** The verdict and the first failure: by which seeds of the sweep, or by the exploration alone. */
function verdictText(r: DesignResult): string {
  const f = r.first;
  if (!f) return `safe (${r.sweep.clean} seeds, ${r.explore.interleavings} interleavings${r.explore.exhausted ? '' : ', bound reached'})`;
  return f.by === 'sweep' ? `${f.signature} (${seedList(f.seeds)})` : `${f.signature} (explore, after ${f.interleavings} interleavings)`;
}

/** The other signatures the design reached, sweep and exploration together. */
function alsoText(r: DesignResult): string {
  const sigs = new Set([...r.sweep.failures.map((f) => f.signature), ...r.explore.failures.map((f) => f.signature)]);
  if (r.first) sigs.delete(r.first.signature);
  return [...sigs].join(', ');
}

/** Every searched design: safe, or its first failure and what else it reached; what it costs users. */
export function resultsTable(results: readonly DesignResult[]): string[] {
  const rows = [['design', 'equals', 'safe, or the first failure', 'also', 'cost to users']];
  for (const r of results) rows.push([r.design, r.equals ?? '', verdictText(r), alsoText(r), costText(r)]);
  return table(rows);
}

/** The minimal safe designs: for each, what it costs and its knobs. */
export function minimalTable(results: readonly DesignResult[]): string[] {
  const min = results.filter((r) => r.minimal);
  if (!min.length) return ['  none: no design came out clean within the bounds'];
  const knobs = KNOBS.map((k) => k.name);
  const rows = [['design', 'equals', 'cost to users', ...knobs]];
  for (const r of min) rows.push([r.design, r.equals ?? '', costText(r), ...knobs.map((k) => String(r.knobs[k]))]);
  return table(rows).map((l) => `  ${l}`);
}

export function ndjsonLines(results: readonly DesignResult[]): string {
  return results.map((r) => JSON.stringify(r) + '\n').join('');
}

/** Read a search's NDJSON line back (merge): throws a one-line reason for anything that is not one. */
export function parseResultLine(line: string): DesignResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error('not a JSON line');
  }
  const o = v as Partial<DesignResult>;
  if (typeof o !== 'object' || o === null || typeof o.design !== 'string' || typeof o.safe !== 'boolean' || !Array.isArray(o.cost) || typeof o.knobs !== 'object' || !o.sweep || !o.explore) {
    throw new Error('not a designs search result (needs design, knobs, safe, cost, sweep, explore)');
  }
  return o as DesignResult;
}
