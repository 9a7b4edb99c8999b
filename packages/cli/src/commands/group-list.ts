import type { CommandContext } from '../context.ts';
import { table } from '../format.ts';

export async function groupList(ctx: CommandContext, args: { states: string[] }): Promise<void> {
  const groups = await ctx.client().listGroups(args.states.length > 0 ? { states: args.states } : {});
  const rows = groups.map((g) => ({ groupId: g.groupId, state: g.state, protocolType: g.protocolType }));
  if (ctx.json) {
    ctx.outJson(rows);
  } else if (rows.length === 0) {
    ctx.out(args.states.length > 0 ? `No groups in state ${args.states.join(' or ')}.` : 'No groups.');
  } else {
    // A group that only ever had offsets committed for it (no members) has no protocol type.
    ctx.out(table(['GROUP', 'STATE', 'PROTOCOL-TYPE'], rows.map((g) => [g.groupId, g.state ?? '-', g.protocolType === '' ? '-' : g.protocolType])));
  }
}
