/**
 * `trib chaos run`: a seeded nemesis run against a cluster of local processes, or of containers with `--image`
 * (packages/harness). Every
 * problem with the command line or the fault list is reported before any process starts. Exit code 1 when
 * the checker found an anomaly (lost, duplicated, inconsistent...), so a soak script can stop on it.
 */
import { resolve } from 'node:path';
import type { CommandContext } from '../context.ts';
import { UsageError } from '../context.ts';

export interface ChaosRunArgs {
  seed: number;
  durationMs: number;
  controllers: number;
  brokers: number;
  faults: string;
  outDir: string;
  ratePerS?: number;
  /** Live consumers (`--consumers assign=1,group=2`); absent: the harness' default. */
  consumers?: { assign?: number; group?: number };
  keepNodes: boolean;
  /** Run the cluster as containers of this image instead of local processes. */
  image?: string;
}

/** A docker image reference (`tributary:test`, `registry:5000/team/tributary@sha256:...`), checked before docker sees it. */
export function parseImage(text: string): string {
  const s = text.trim();
  if (s === '' || !/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/.test(s)) throw new UsageError(`--image must be a docker image reference such as tributary:test, got "${text}"`);
  return s;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `300000`, `300000ms`, `90s`, `5m`, `1h`, `1h30m` → milliseconds. */
export function parseDuration(text: string, option = 'duration'): number {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s);
  let total = 0;
  let rest = s;
  for (let guard = 0; rest !== '' && guard < 8; guard++) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (m === null) break;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (s === '' || rest !== '' || !Number.isFinite(total) || total <= 0) throw new UsageError(`--${option} must be a duration such as 300000, 90s, 5m or 1h30m, got "${text}"`);
  return Math.round(total);
}

/** `assign=1,group=2` (either part may be left out; `none`: no live consumer) → consumer counts. */
export function parseConsumers(text: string): { assign?: number; group?: number } {
  const s = text.trim();
  if (s === 'none') return { assign: 0, group: 0 };
  const usage = `--consumers must be assign=N,group=M with N, M in 0..16 (either may be left out), or none; got "${text}"`;
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length > 2) throw new UsageError(usage);
  const out: { assign?: number; group?: number } = {};
  for (const part of parts) {
    const m = /^(assign|group)=(\d{1,2})$/.exec(part);
    if (m === null || Number(m[2]) > 16) throw new UsageError(usage);
    const kind = m[1] as 'assign' | 'group';
    if (out[kind] !== undefined) throw new UsageError(`--consumers names ${kind} twice: "${text}"`);
    out[kind] = Number(m[2]);
  }
  return out;
}

export async function chaosRun(ctx: CommandContext, a: ChaosRunArgs): Promise<void> {
  const harness = await import('@tributary/harness');
  let faults;
  try {
    faults = harness.parseFaults(a.faults);
  } catch (err) {
    throw new UsageError(`--faults: ${(err as Error).message}`);
  }
  const options = {
    seed: a.seed,
    durationMs: a.durationMs,
    controllers: a.controllers,
    brokers: a.brokers,
    faults,
    outDir: resolve(a.outDir),
    keepNodes: a.keepNodes,
    ...(a.image !== undefined ? { image: a.image } : {}),
    ...(a.ratePerS !== undefined ? { ratePerS: a.ratePerS } : {}),
    ...(a.consumers !== undefined ? { consumers: a.consumers } : {}),
    log: (line: string) => {
      if (!ctx.json) ctx.out(line);
    },
  };
  try {
    harness.prepareRun(options);
  } catch (err) {
    if (err instanceof harness.NemesisConfigError) throw new UsageError(`cannot start the chaos run:\n  - ${err.problems.join('\n  - ')}`);
    throw err;
  }
  const result = await harness.runNemesis(options);
  if (ctx.json) ctx.outJson({ valid: result.report.valid, counts: result.report.counts, healthyAtEnd: result.healthyAtEnd, report: result.reportHtmlPath, history: result.historyPath });
  else ctx.out(`${result.report.valid ? 'VALID' : 'INVALID'}: report ${result.reportHtmlPath} (JSON ${result.reportJsonPath}, history ${result.historyPath})`);
  if (!result.report.valid) throw new Error(`the checker found anomalies (seed ${a.seed}): ${result.summary}; see ${result.reportHtmlPath}`);
}
