import { configDiff, type RunConfig } from '../core/config.js';
import type { FlipperPlan, OpSource } from '../core/run.js';
import { parseOps } from '../fsx/fsxops.js';
import { RecordError, readRecord, type Origin } from './recording.js';
import { annotateOps } from './script.js';

/** How a recording replays: the config it decides, the ops, the flippers, and what the user should know. */
export interface ReplayPlan {
  config: RunConfig;
  ops: OpSource;
  flippers: FlipperPlan;
  /** null: fsx's own recording (no daxfsx record). */
  origin: Origin | null;
  /** A line for standard error, when the replay is not what a user might expect. */
  note?: string;
}

/** Fields a replay's command line may set differently: they change what fsx prints, not what runs. */
const PRESENTATION = new Set(['fsx.quiet', 'fsx.debug', 'fsx.debugstart', 'fsx.progressinterval', 'fsx.logid']);

/**
 * Plan the replay of a .fsxops file. `apply(base)` is the command line's
 * options applied to a base config. A daxfsx recording decides the config
 * itself (the command line may only agree with it, or change what is
 * printed); a file with no record is fsx's and replays in fsx's semantics
 * under the command line's config. Throws RecordError (exit 100) for a
 * record that is damaged, foreign or contradicted.
 */
export function planReplay(file: string, text: string, apply: (base: RunConfig) => RunConfig, commandLine: RunConfig): ReplayPlan {
  const rec = readRecord(text, file);
  const parsed = parseOps(text, file);
  if (!rec) {
    return {
      config: commandLine,
      ops: { kind: 'lines', ops: parsed.ops, error: parsed.error },
      flippers: { kind: 'loop' },
      origin: null,
      note: `${file} has no daxfsx record: replaying its op lines as fsx would, under the options of this command line`,
    };
  }
  const config = apply(rec.config);
  const clash = configDiff(config, rec.config).filter((f) => !PRESENTATION.has(f));
  if (clash.length) {
    const show = (c: RunConfig, f: string): string => {
      const [part, key] = f.split('.') as ['fsx' | 'model', string];
      const v = (c[part] as unknown as { [k: string]: unknown })[key];
      // a design by its name, unless the two have the same name and differ in their knobs
      if (key === 'kernel' && config.model.kernel.name !== rec.config.model.kernel.name) return JSON.stringify(c.model.kernel.name);
      return JSON.stringify(v);
    };
    throw new RecordError(file, 0, `the command line contradicts the recording: ${clash.map((f) => `${f} ${show(config, f)} (recorded: ${show(rec.config, f)})`).join(', ')}; leave those options out to replay the recorded run`);
  }
  if (parsed.error && rec.origin.kind !== 'replayed') throw new RecordError(file, parsed.error.line, parsed.error.message.slice(`${file}:${parsed.error.line}: `.length));
  const flips = config.model.flip ? rec.schedule : [];
  switch (rec.origin.kind) {
    case 'generated':
      return { config, origin: rec.origin, ops: { kind: 'expect', ops: parsed.ops, firstOp: rec.origin.firstOp, file }, flippers: { kind: 'loop' } };
    case 'script':
      return { config, origin: rec.origin, ops: { kind: 'lines', ops: annotateOps(text, parsed.ops) }, flippers: config.model.flip ? { kind: 'script', flips } : { kind: 'loop' } };
    case 'replayed':
      return { config, origin: rec.origin, ops: { kind: 'lines', ops: parsed.ops, error: parsed.error }, flippers: { kind: 'loop' } };
  }
}
