/**
 * The run report: JSON with every count (for machines and diffs) and one self-contained HTML page (for a
 * person): a verdict, the counts, a timeline of throughput and latency with the fault windows shaded and
 * unavailability marked, then the examples behind every nonzero count. Inline CSS and SVG, no script, no
 * external assets, so the file can be attached to an issue and opened anywhere. Pure: returns strings.
 */
import type { CheckCounts, CheckReport, FaultWindow, SeriesBucket } from '../checker/checker.ts';

export interface RunMeta {
  readonly title?: string;
  /** Free-form facts about the run: seed, cluster shape, workload, versions. */
  readonly [key: string]: unknown;
}

/** The anomalies: a nonzero count here makes the run invalid. */
export const ANOMALY_COUNTS: readonly (keyof CheckCounts)[] = [
  'lostWrites', 'duplicates', 'inconsistentOffsets', 'nonmonotonicPolls', 'skips', 'unexpectedValues', 'failedButRead',
];
/** Worth a look, not a violation by themselves. */
export const WARNING_COUNTS: readonly (keyof CheckCounts)[] = ['unseenWrites', 'unavailabilityWindows', 'sendsInfo', 'sendsFail'];

export function reportJson(report: CheckReport, meta: RunMeta = {}): string {
  return JSON.stringify({ meta, ...report }, null, 2) + '\n';
}

const esc = (s: unknown): string => String(s)
  .replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');

const FAULT_COLORS: Readonly<Record<string, string>> = {
  kill: '#e4572e', stop: '#f3a712', pause: '#a8c686', partition: '#669bbc', latency: '#b07bac', loss: '#8d6a9f',
  reorder: '#c5a3c9', 'disk-full': '#7f7f7f', 'disk-readonly': '#a0a0a0', 'power-loss': '#29335c',
};
const faultColor = (fault: string): string => FAULT_COLORS[fault] ?? '#999999';

const LABELS: Readonly<Record<keyof CheckCounts, string>> = {
  ops: 'operations', sends: 'sends', sendsOk: 'sends acknowledged', sendsFail: 'sends failed', sendsInfo: 'sends with unknown outcome',
  polls: 'records polled', distinctValuesRead: 'distinct values read', lostWrites: 'lost acknowledged writes',
  unseenWrites: 'acknowledged, never read (reads did not reach them)', ackedNeverRead: 'acknowledged, never read (all)',
  explainedUnread: 'unread, explained by log start or compaction', duplicates: 'duplicates (value at two offsets)',
  inconsistentOffsets: 'inconsistent offsets (two values at one offset)', nonmonotonicPolls: 'nonmonotonic polls (backwards / re-read)',
  skips: 'skipped offsets', unexpectedValues: 'values read but never sent', failedButRead: 'failed sends that were read',
  unavailabilityWindows: 'unavailability windows', faultWindows: 'fault windows',
};

/** A round axis maximum: 1, 2 or 5 times a power of ten. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmt = (v: number): string => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(1)}`);

interface Frame {
  readonly width: number;
  readonly left: number;
  readonly right: number;
  readonly spanMs: number;
  x(tMs: number): number;
}

interface Line {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
  readonly dash?: string;
}

function chart(frame: Frame, buckets: readonly SeriesBucket[], bucketMs: number, title: string, unit: string, lines: readonly Line[], faults: readonly FaultWindow[], unavailable: CheckReport['unavailability'], seriesStartMs: number): string {
  const height = 190;
  const top = 24;
  const bottom = 26;
  const plotH = height - top - bottom;
  let max = 0;
  for (const l of lines) for (const v of l.values) if (v !== null) max = Math.max(max, v);
  const yMax = niceMax(max);
  const y = (v: number): number => top + plotH - (v / yMax) * plotH;
  const parts: string[] = [];
  parts.push(`<svg class="chart" viewBox="0 0 ${frame.width} ${height}" width="${frame.width}" height="${height}" role="img" aria-label="${esc(title)}">`);
  parts.push(`<text x="${frame.left}" y="15" class="title">${esc(title)}</text>`);
  // Fault windows and unavailability first, under the data.
  for (const f of faults) {
    const x0 = frame.x(f.startMs - seriesStartMs);
    const x1 = Math.max(x0 + 1, frame.x(f.endMs - seriesStartMs));
    parts.push(`<rect class="fault" x="${x0.toFixed(1)}" y="${top}" width="${(x1 - x0).toFixed(1)}" height="${plotH}" fill="${faultColor(f.fault)}" fill-opacity="0.16"><title>${esc(`${f.fault}: ${f.detail ?? ''} (${((f.endMs - f.startMs) / 1000).toFixed(1)} s)`)}</title></rect>`);
  }
  for (const u of unavailable) {
    const x0 = frame.x(u.startMs - seriesStartMs);
    const x1 = Math.max(x0 + 1, frame.x(u.endMs - seriesStartMs));
    parts.push(`<rect class="unavailable" x="${x0.toFixed(1)}" y="${top + plotH - 5}" width="${(x1 - x0).toFixed(1)}" height="5" fill="#c00"><title>no acknowledgement for ${(u.durationMs / 1000).toFixed(1)} s</title></rect>`);
  }
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(`<line class="grid" x1="${frame.left}" x2="${frame.width - frame.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`);
    parts.push(`<text class="tick" x="${frame.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push(`<text class="tick" x="12" y="${top + plotH / 2}" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">${esc(unit)}</text>`);
  const stepS = niceMax(frame.spanMs / 1000 / 10);
  for (let s = 0; s * 1000 <= frame.spanMs; s += stepS) {
    const x = frame.x(s * 1000);
    parts.push(`<line class="grid" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${top + plotH}"/>`);
    parts.push(`<text class="tick" x="${x.toFixed(1)}" y="${height - 8}" text-anchor="middle">${s}s</text>`);
  }
  for (const l of lines) {
    // Break the line where a bucket has no value (no acks, so no latency).
    let d = '';
    let pen = false;
    l.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      const x = frame.x(buckets[i]!.tMs + bucketMs / 2);
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    parts.push(`<path class="series" d="${d}" stroke="${l.color}"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}><title>${esc(l.label)}</title></path>`);
  }
  parts.push(`<rect class="frame" x="${frame.left}" y="${top}" width="${frame.width - frame.left - frame.right}" height="${plotH}"/>`);
  // Legend, top right.
  let lx = frame.width - frame.right;
  for (const l of [...lines].reverse()) {
    const w = 18 + l.label.length * 6.2;
    lx -= w + 10;
    parts.push(`<line x1="${lx.toFixed(1)}" x2="${(lx + 14).toFixed(1)}" y1="11" y2="11" stroke="${l.color}" stroke-width="2.5"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}/><text class="legend" x="${(lx + 18).toFixed(1)}" y="15">${esc(l.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function faultLane(frame: Frame, faults: readonly FaultWindow[], seriesStartMs: number): string {
  const kinds = [...new Set(faults.map((f) => f.fault))];
  const rowH = 18;
  const height = 22 + Math.max(1, kinds.length) * rowH;
  const parts = [`<svg class="chart" viewBox="0 0 ${frame.width} ${height}" width="${frame.width}" height="${height}" role="img" aria-label="fault windows">`];
  parts.push(`<text x="${frame.left}" y="14" class="title">Faults injected</text>`);
  if (kinds.length === 0) parts.push(`<text class="tick" x="${frame.left}" y="34">none</text>`);
  kinds.forEach((kind, row) => {
    const yTop = 20 + row * rowH;
    parts.push(`<text class="tick" x="${frame.left - 6}" y="${yTop + 12}" text-anchor="end">${esc(kind)}</text>`);
    parts.push(`<line class="grid" x1="${frame.left}" x2="${frame.width - frame.right}" y1="${yTop + rowH / 2}" y2="${yTop + rowH / 2}"/>`);
    for (const f of faults.filter((w) => w.fault === kind)) {
      const x0 = frame.x(f.startMs - seriesStartMs);
      const x1 = Math.max(x0 + 2, frame.x(f.endMs - seriesStartMs));
      parts.push(`<rect class="fault-bar" x="${x0.toFixed(1)}" y="${yTop + 2}" width="${(x1 - x0).toFixed(1)}" height="${rowH - 4}" rx="3" fill="${faultColor(kind)}"><title>${esc(`${kind}: ${f.detail ?? ''}, ${((f.startMs - seriesStartMs) / 1000).toFixed(1)}–${((f.endMs - seriesStartMs) / 1000).toFixed(1)} s${f.open ? ' (never healed)' : ''}`)}</title></rect>`);
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function examplesSection(report: CheckReport): string {
  const out: string[] = [];
  const sec = (id: string, title: string, count: number, body: string): void => {
    if (count === 0) return;
    const shown = body.match(/<tr>/g)!.length - 1;
    out.push(`<section class="examples" id="${id}"><h3>${esc(title)} <span class="count">${count}</span></h3>${shown < count ? `<p class="note">showing ${shown} of ${count}</p>` : ''}${body}</section>`);
  };
  const c = report.counts;
  const rel = (t: number): string => `${((t - report.series.startMs) / 1000).toFixed(3)} s`;
  sec('lost', 'Lost acknowledged writes', c.lostWrites, table(['value', 'key', 'topic-partition', 'acked offset', 'acked at', 'by', 'why it counts as lost'],
    report.lostWrites.map((w) => [w.value, w.key ?? '', `${w.topic}-${w.partition}`, w.offset ?? '?', rel(w.ackTimeMs), w.process, w.coveredBy ?? ''])));
  sec('duplicates', 'Duplicates', c.duplicates, table(['value', 'positions'],
    report.duplicates.map((d) => [d.value, d.positions.map((p) => `${p.topic}-${p.partition}@${p.offset} (${p.sources.join(', ')})`).join('; ')])));
  sec('inconsistent', 'Inconsistent offsets', c.inconsistentOffsets, table(['position', 'values (who saw them)'],
    report.inconsistentOffsets.map((i) => [`${i.topic}-${i.partition}@${i.offset}`, i.values.map((v) => `${v.value} (${v.sources.join(', ')})`).join('; ')])));
  sec('nonmonotonic', 'Nonmonotonic polls', c.nonmonotonicPolls, table(['consumer', 'topic-partition', 'previous offset', 'then read', 'at'],
    report.nonmonotonicPolls.map((n) => [n.process, `${n.topic}-${n.partition}`, n.prevOffset, n.offset, rel(n.timeMs)])));
  sec('skips', 'Skipped offsets', c.skips, table(['consumer', 'topic-partition', 'previous offset', 'then read', 'records skipped', 'at'],
    report.skips.map((s) => [s.process, `${s.topic}-${s.partition}`, s.prevOffset, s.offset, `${s.missingCount}: ${s.missing.join(', ')}${s.missingCount > s.missing.length ? ', …' : ''}`, rel(s.timeMs)])));
  sec('unexpected', 'Values read but never sent', c.unexpectedValues, table(['value', 'position', 'consumer', 'at'],
    report.unexpectedValues.map((u) => [u.value, `${u.topic}-${u.partition}@${u.offset}`, u.process, rel(u.timeMs)])));
  sec('failed-read', 'Failed sends that were read', c.failedButRead, table(['value', 'position', 'consumer', 'at'],
    report.failedButRead.map((u) => [u.value, `${u.topic}-${u.partition}@${u.offset}`, u.process, rel(u.timeMs)])));
  sec('unseen', 'Acknowledged, never read (reads did not reach them)', c.unseenWrites, table(['value', 'topic-partition', 'acked offset', 'acked at'],
    report.unseenWrites.map((w) => [w.value, `${w.topic}-${w.partition}`, w.offset ?? '?', rel(w.ackTimeMs)])));
  sec('unavailability', `Unavailability (no acknowledgement for more than ${report.unavailabilityThresholdMs / 1000} s)`, c.unavailabilityWindows,
    table(['from', 'to', 'duration'], report.unavailability.map((u) => [rel(u.startMs), rel(u.endMs), `${(u.durationMs / 1000).toFixed(1)} s`])));
  sec('faults', 'Fault windows', c.faultWindows, table(['fault', 'what', 'from', 'to', 'duration'],
    report.faults.map((f) => [f.fault, f.detail ?? '', rel(f.startMs), f.open ? 'end (never healed)' : rel(f.endMs), `${(f.durationMs / 1000).toFixed(1)} s`])));
  return out.join('\n');
}

const STYLE = `
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 24px auto; max-width: 1140px; padding: 0 12px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; } h3 { font-size: 15px; margin: 18px 0 6px; }
.verdict { display: inline-block; padding: 4px 12px; border-radius: 4px; font-weight: 700; color: #fff; font-size: 16px; }
.verdict.valid { background: #2a9d4a; } .verdict.invalid { background: #c62828; }
.meta { color: #555; margin: 6px 0 14px; } .meta span { margin-right: 16px; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 6px; }
.count-cell { border: 1px solid #ddd; border-radius: 4px; padding: 6px 10px; display: flex; justify-content: space-between; gap: 8px; }
.count-cell b { font-variant-numeric: tabular-nums; } .count-cell.bad { background: #fdecea; border-color: #e57373; color: #8b1a1a; }
.count-cell.warn { background: #fff8e1; border-color: #ffcc80; }
svg.chart { display: block; margin: 4px 0; max-width: 100%; height: auto; }
svg .title { font-weight: 600; font-size: 13px; } svg .tick, svg .legend { font-size: 11px; fill: #555; }
svg .grid { stroke: #eee; } svg .frame { fill: none; stroke: #bbb; } svg .series { fill: none; stroke-width: 1.8; }
table { border-collapse: collapse; margin: 4px 0 10px; font-size: 13px; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f5f5f5; } .count { background: #eee; border-radius: 8px; padding: 0 8px; font-size: 12px; } .note { color: #777; margin: 0; }
.keys { font-size: 12px; color: #555; } .keys span { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
`;

export function reportHtml(report: CheckReport, meta: RunMeta = {}): string {
  const title = meta.title ?? 'Tributary fault-injection run';
  const { buckets, bucketMs, startMs: seriesStartMs } = report.series;
  const spanMs = Math.max(bucketMs, buckets.length * bucketMs, report.timeRange.endMs - seriesStartMs);
  const width = 1100;
  const left = 64;
  const right = 16;
  const frame: Frame = { width, left, right, spanMs, x: (t) => left + (Math.min(Math.max(t, 0), spanMs) / spanMs) * (width - left - right) };
  const c = report.counts;
  const cell = (k: keyof CheckCounts): string => {
    const cls = ANOMALY_COUNTS.includes(k) && c[k] > 0 ? ' bad' : WARNING_COUNTS.includes(k) && c[k] > 0 ? ' warn' : '';
    return `<div class="count-cell${cls}" data-count="${k}"><span>${esc(LABELS[k])}</span><b>${c[k]}</b></div>`;
  };
  const metaEntries = Object.entries(meta).filter(([k]) => k !== 'title');
  const faultKinds = [...new Set(report.faults.map((f) => f.fault))];
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<div><span class="verdict ${report.valid ? 'valid' : 'invalid'}">${report.valid ? 'VALID' : 'INVALID'}</span> `
      + `${report.valid ? 'no anomaly found' : ANOMALY_COUNTS.filter((k) => c[k] > 0).map((k) => `${c[k]} ${esc(LABELS[k])}`).join(', ')}</div>`,
    `<div class="meta">${metaEntries.map(([k, v]) => `<span><b>${esc(k)}</b>: ${esc(typeof v === 'object' ? JSON.stringify(v) : v)}</span>`).join('')}`
      + `<span><b>span</b>: ${((report.timeRange.endMs - report.timeRange.startMs) / 1000).toFixed(1)} s</span></div>`,
    '<h2>Anomalies</h2>',
    `<div class="counts">${ANOMALY_COUNTS.map(cell).join('')}</div>`,
    '<h2>Workload</h2>',
    `<div class="counts">${(['sends', 'sendsOk', 'sendsFail', 'sendsInfo', 'polls', 'distinctValuesRead', 'unseenWrites', 'ackedNeverRead', 'explainedUnread', 'unavailabilityWindows', 'faultWindows'] as const).map(cell).join('')}</div>`,
    '<h2>Timeline</h2>',
    `<div class="keys">${faultKinds.map((k) => `<span><i class="swatch" style="background:${faultColor(k)}"></i>${esc(k)}</span>`).join('')}`
      + `<span><i class="swatch" style="background:#c00"></i>no acknowledgement for more than ${report.unavailabilityThresholdMs / 1000} s</span></div>`,
    faultLane(frame, report.faults, seriesStartMs),
    chart(frame, buckets, bucketMs, 'Throughput', `per ${bucketMs === 1000 ? 'second' : `${bucketMs} ms`}`, [
      { label: 'acked', color: '#2a9d4a', values: buckets.map((b) => b.sendsOk) },
      { label: 'polled', color: '#1f77b4', values: buckets.map((b) => b.polls), dash: '5 3' },
      { label: 'failed', color: '#c62828', values: buckets.map((b) => b.sendsFail) },
      { label: 'unknown', color: '#f39c12', values: buckets.map((b) => b.sendsInfo) },
    ], report.faults, report.unavailability, seriesStartMs),
    chart(frame, buckets, bucketMs, 'Acknowledged send latency', 'ms', [
      { label: 'p50', color: '#555', values: buckets.map((b) => b.latencyP50Ms) },
      { label: 'p99', color: '#8e44ad', values: buckets.map((b) => b.latencyP99Ms) },
      { label: 'max', color: '#d35400', values: buckets.map((b) => b.latencyMaxMs), dash: '2 3' },
    ], report.faults, report.unavailability, seriesStartMs),
    '<h2>Details</h2>',
    examplesSection(report) || '<p>Nothing to show: no anomaly, no fault window, no unavailability.</p>',
  ];
  return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${esc(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${body.join('\n')}\n</body>\n</html>\n`;
}
