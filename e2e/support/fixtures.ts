// Vitest glue: one node per test file, logs printed when a test fails.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { TributaryNode, type NodeOptions } from './node.ts';

export function useNode(options: NodeOptions = {}): () => TributaryNode {
  let node: TributaryNode | null = null;
  beforeAll(async () => {
    node = await TributaryNode.start(options);
  });
  beforeEach((context) => {
    context.onTestFailed(() => node?.printLogs(`test "${context.task.name}" failed`));
  });
  afterAll(async () => {
    await node?.dispose();
  });
  return () => {
    if (node === null) throw new Error('node not started (see beforeAll error above)');
    return node;
  };
}

let topicSeq = 0;
export function uniqueTopic(prefix: string): string {
  topicSeq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${topicSeq}`;
}
