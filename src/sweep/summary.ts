import { UsageError } from '../util/errors.js';
import type { RunRecord } from '../core/outcome.js';

type SeedResult = RunRecord;

export interface SigSummary {
  signature: string;
  count: number;
  firstSeed: number;
  medianOps: number;
}

/** By signature: how many seeds, the first, the median ops to the failure. */
export function summarize(results: SeedResult[]): SigSummary[] {
  const by = new Map<string, SeedResult[]>();
  for (const r of results) {
    const k = r.signature || 'clean';
    if (!by.has(k)) by.set(k, []);
    by.get(k)!.push(r);
  }
  return [...by.entries()]
    .map(([signature, rs]) => {
      const ops = rs.map((r) => r.ops).sort((x, y) => x - y);
      return { signature, count: rs.length, firstSeed: Math.min(...rs.map((r) => r.seed)), medianOps: ops[Math.floor((ops.length - 1) / 2)] };
    })
    .sort((x, y) => y.count - x.count || x.firstSeed - y.firstSeed);
}

export function summaryTable(results: SeedResult[]): string[] {
  const rows = summarize(results);
  const w = Math.max(9, ...rows.map((r) => r.signature.length));
  return [
    `${'signature'.padEnd(w)}  seeds  first seed  median ops`,
    ...rows.map((r) => `${r.signature.padEnd(w)}  ${String(r.count).padStart(5)}  ${String(r.firstSeed).padStart(10)}  ${String(r.medianOps).padStart(10)}`),
  ];
}

/**
 * What a sweep expects of its seeds: every seed clean (the default), any
 * outcome at all, or failures only with these signatures (a sweep of a
 * design known to be unsafe, in CI).
 */
export type Expectation = { kind: 'clean' } | { kind: 'any' } | { kind: 'signatures'; signatures: string[] };

export function parseExpectation(s: string): Expectation {
  const t = s.trim();
  if (t === 'clean') return { kind: 'clean' };
  if (t === 'any') return { kind: 'any' };
  const signatures = t.split(',').map((x) => x.trim()).filter(Boolean);
  if (!signatures.length) throw new UsageError(`option --expect: expected clean, any, or signatures separated by commas, got '${s}'`);
  return { kind: 'signatures', signatures };
}

/** The seeds that did not come out as expected. */
export function unexpected(results: readonly SeedResult[], e: Expectation): SeedResult[] {
  if (e.kind === 'any') return [];
  return results.filter((r) => r.signature !== '' && (e.kind === 'clean' || !e.signatures.includes(r.signature)));
}

export function expectationText(e: Expectation): string {
  return e.kind === 'signatures' ? `clean, or failing with ${e.signatures.join(' or ')}` : e.kind === 'clean' ? 'every seed clean' : 'any outcome';
}
