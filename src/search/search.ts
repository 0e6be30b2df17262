import { withSeed, type RunConfig } from '../core/config.js';
import type { RunRecord } from '../core/outcome.js';
import type { Script } from '../core/scripted.js';
import type { ExploreOptions } from '../explore/explore.js';
import { knobsOf, type Design, type Knobs } from '../kernel/designs.js';
import type { ExploreRecord, Job } from '../sweep/jobs.js';
import { runJobs } from '../sweep/pool.js';
import { minimalByCost, userCost } from './cost.js';
import { builtinEqual } from './space.js';

/** What the search runs each design through. */
export interface SearchPlan {
  designs: readonly Design[];
  /** The sweep's config (its design replaced by each searched one): fsx's options, evictions. */
  sweep: RunConfig;
  seeds: readonly number[];
  /** The bounded exploration: its program and bounds, under the sweep's config with no background tasks. */
  program: Script;
  explore: ExploreOptions;
  /** Explore every design, not only those the sweep found no failure in. */
  exploreAll: boolean;
}

export interface Failure {
  signature: string;
  verdict: string;
  exitCode: number;
}

/** One design's result, as a line of the search's NDJSON. */
export interface DesignResult {
  design: string;
  knobs: Knobs;
  /** The built-in design with these knobs. */
  equals: string | null;
  /** What it costs users (empty: the change applies at once and is never refused). */
  cost: string[];
  safe: boolean;
  /** Safe, and no other safe design of the search costs users less. */
  minimal: boolean;
  /** The first failure: the lowest failing seed's, else the exploration's first signature. */
  first: (Failure & { by: 'sweep'; seed: number; seeds: number[] }) | (Failure & { by: 'explore'; interleavings: number }) | null;
  sweep: { seeds: number; clean: number; failures: (Failure & { seeds: number[] })[] };
  /** The exploration (`explored` false: the sweep had already failed the design, and --explore-all was not given). */
  explore: { explored: boolean; interleavings: number; exhausted: boolean; failures: (Failure & { count: number })[] };
  /** A command that replays the first failure (when its reproducer was saved). */
  reproduce?: string;
}

/** A design's result with what its reproducers are made from (not in the NDJSON). */
export interface Searched {
  result: DesignResult;
  design: Design;
  /** The config of the sweep's first failing seed, if any. */
  sweepConfig: RunConfig | null;
  /** A script of one failing interleaving per signature. */
  exploreScripts: { signature: string; script: Script }[];
  exploreConfig: RunConfig;
}

/** The exploration's config for a design: the sweep's, with no task besides fsx and the flipper (the program's ops are fixed). */
export function exploreConfig(sweep: RunConfig, d: Design): RunConfig {
  return { fsx: sweep.fsx, model: { ...sweep.model, kernel: d, flip: true, dropCaches: 0, writeback: 0 } };
}

function withDesign(c: RunConfig, d: Design): RunConfig {
  return { fsx: c.fsx, model: { ...c.model, kernel: d } };
}

/** Fill in `minimal`: safe designs no other safe design costs users less. */
export function markMinimal(results: DesignResult[]): void {
  const safe = results.filter((r) => r.safe);
  const min = new Set(minimalByCost(safe, (r) => r.cost));
  for (const r of results) r.minimal = min.has(r);
}

/** Collect one design's seeds and exploration into its result. */
function collect(d: Design, plan: SearchPlan, seeds: RunRecord[], ex: ExploreRecord | null): Searched {
  const bySig = new Map<string, Failure & { seeds: number[] }>();
  for (const r of seeds) {
    if (!r.signature) continue; // clean
    const f = bySig.get(r.signature) ?? { signature: r.signature, verdict: r.verdict, exitCode: r.exitCode, seeds: [] };
    f.seeds.push(r.seed);
    bySig.set(r.signature, f);
  }
  const sweepFailures = [...bySig.values()].sort((a, b) => a.seeds[0] - b.seeds[0]);
  const exFailures = (ex?.failures ?? []).map((f) => ({ signature: f.signature, verdict: f.verdict, exitCode: f.exitCode, count: f.count }));
  const firstSeed = sweepFailures[0];
  const first: DesignResult['first'] = firstSeed
    ? { by: 'sweep', signature: firstSeed.signature, verdict: firstSeed.verdict, exitCode: firstSeed.exitCode, seed: firstSeed.seeds[0], seeds: firstSeed.seeds }
    : exFailures[0]
      ? { by: 'explore', signature: exFailures[0].signature, verdict: exFailures[0].verdict, exitCode: exFailures[0].exitCode, interleavings: ex!.interleavings }
      : null;
  const result: DesignResult = {
    design: d.name,
    knobs: knobsOf(d),
    equals: builtinEqual(d),
    cost: userCost(d),
    safe: first === null,
    minimal: false,
    first,
    sweep: { seeds: seeds.length, clean: seeds.filter((r) => !r.signature).length, failures: sweepFailures },
    explore: { explored: ex !== null, interleavings: ex?.interleavings ?? 0, exhausted: ex?.exhausted ?? false, failures: exFailures },
  };
  return {
    result,
    design: d,
    sweepConfig: firstSeed ? withSeed(withDesign(plan.sweep, d), firstSeed.seeds[0]) : null,
    exploreScripts: (ex?.failures ?? []).map((f) => ({ signature: f.signature, script: f.script })),
    exploreConfig: exploreConfig(plan.sweep, d),
  };
}

/**
 * Run every design of the plan through its sweep, then through its
 * exploration, on the sweep's worker processes. The exploration is for the
 * designs the sweep found no failure in (a design with a failing seed is
 * unsafe already, with a reproducer), every design with `exploreAll`.
 * Designs whose jobs did not all finish (an interrupt) are left out.
 */
export async function searchDesigns(
  plan: SearchPlan,
  threads: number,
  onDone?: (done: number, total: number) => void,
  interrupted?: () => boolean,
): Promise<{ searched: Searched[]; stopped: boolean }> {
  const nd = plan.designs.length;
  const ns = plan.seeds.length;
  const seedJobs: Job[] = [];
  for (const d of plan.designs) for (const seed of plan.seeds) seedJobs.push({ kind: 'seed', config: withDesign(plan.sweep, d), seed });
  // progress counts the explorations of every design; those not needed are counted when they are skipped
  const total = nd * ns + nd;
  const sweep = await runJobs(seedJobs, Math.max(1, Math.min(threads, seedJobs.length)), (n) => onDone?.(n, total), interrupted);
  const seedsOf = (i: number): (RunRecord | undefined)[] => sweep.results.slice(i * ns, (i + 1) * ns) as (RunRecord | undefined)[];
  const toExplore = plan.designs.map((_, i) => !sweep.stopped && (plan.exploreAll || seedsOf(i).every((r) => r !== undefined && !r.signature)));
  const exJobs: Job[] = [];
  plan.designs.forEach((d, i) => {
    if (toExplore[i]) exJobs.push({ kind: 'explore', config: exploreConfig(plan.sweep, d), program: plan.program, options: plan.explore });
  });
  const skipped = nd - exJobs.length;
  const ex = sweep.stopped
    ? { results: [] as (ExploreRecord | undefined)[], stopped: true }
    : await runJobs(exJobs, Math.max(1, Math.min(threads, exJobs.length)), (n) => onDone?.(nd * ns + skipped + n, total), interrupted);
  const searched: Searched[] = [];
  let e = 0;
  plan.designs.forEach((d, i) => {
    const seeds = seedsOf(i);
    if (seeds.some((s) => s === undefined)) return;
    let rec: ExploreRecord | null = null;
    if (toExplore[i]) {
      rec = (ex.results[e++] as ExploreRecord | undefined) ?? null;
      if (!rec) return;
    }
    searched.push(collect(d, plan, seeds as RunRecord[], rec));
  });
  markMinimal(searched.map((s) => s.result));
  return { searched, stopped: sweep.stopped || ex.stopped };
}
