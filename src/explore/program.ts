import type { RunConfig } from '../core/config.js';
import { recordRun, type Script } from '../core/scripted.js';

/** The first `n` ops of the config's seed's stream that do something (those fsx skips are left out), as a program to explore. */
export function programFromSeed(config: RunConfig, n: number): Script {
  const gen = recordRun({ fsx: { ...config.fsx, numops: n * 20 }, model: { ...config.model, flip: false } });
  return { ops: gen.script.ops.slice(0, n).map((o, i) => ({ ...o, line: i + 1 })), flips: [] };
}
