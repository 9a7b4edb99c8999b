/**
 * Writes examples/sample-report.{json,html} from a synthetic run with two planted anomalies:
 *   node packages/harness/examples/sample-report.ts [seed]
 */
import { writeFileSync } from 'node:fs';
import { checkHistory, reportHtml, reportJson, sampleHistory, sampleNemesisConfig } from '../src/index.ts';

const seed = Number(process.argv[2] ?? 7);
const durationMs = 120_000;
const history = sampleHistory({ seed, durationMs, plant: true });
const report = checkHistory(history, { unavailabilityThresholdMs: 3000 });
const meta = { title: 'Sample run (synthetic history, planted anomalies)', seed, cluster: sampleNemesisConfig(seed, durationMs).cluster, workload: '40 sends/s, 3 partitions, 1 consumer per partition' };
const dir = new URL('.', import.meta.url);
writeFileSync(new URL('sample-report.json', dir), reportJson(report, meta));
writeFileSync(new URL('sample-report.html', dir), reportHtml(report, meta));
console.log(JSON.stringify(report.counts));
