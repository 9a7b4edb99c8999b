import { KafkaError } from '@tributary/client';
import type { CommandContext } from '../context.ts';

/**
 * Deletes each group (only groups without active members can be deleted). Every group is attempted;
 * the ones deleted are reported on stdout, and if any failed the command fails with the first error,
 * naming the others.
 */
export async function groupDelete(ctx: CommandContext, args: { groups: string[] }): Promise<void> {
  const results = await ctx.client().deleteGroups(args.groups);
  const deleted = results.filter((r) => r.error === null).map((r) => r.groupId);
  if (ctx.json) {
    ctx.outJson(results.map((r) => ({ groupId: r.groupId, deleted: r.error === null, error: r.error?.name ?? null })));
  } else {
    for (const g of deleted) ctx.out(`Deleted group ${g}.`);
  }
  const failed = results.filter((r): r is { groupId: string; error: KafkaError } => r.error !== null);
  const [first, ...others] = failed;
  if (first !== undefined) {
    const also = others.length === 0 ? '' : `; also failed: ${others.map((r) => `${r.groupId} (${r.error.name})`).join(', ')}`;
    throw new KafkaError(first.error.code, first.error.name, `${first.error.message}${also}`);
  }
}
