/** Topic names follow Kafka's rules so every client and tool accepts them. */
export const TOPIC_NAME_MAX_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Returns why the name is illegal, or null when it is legal. */
export function topicNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > TOPIC_NAME_MAX_LENGTH) return `topic name is ${name.length} characters long; the limit is ${TOPIC_NAME_MAX_LENGTH}`;
  if (!LEGAL.test(name)) return `topic name "${name}" is illegal: only ASCII letters, digits, '.', '_' and '-' are allowed`;
  return null;
}

/** '.' and '_' collide in metric names, so Kafka refuses topics differing only by them. */
export function collisionKey(name: string): string {
  return name.replaceAll('.', '_');
}

export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state']);
