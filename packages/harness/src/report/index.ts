export * from './report.ts';
export * from './sample.ts';
