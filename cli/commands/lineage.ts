/** `lineage`: what a bundle was made from, or what was made from it, as a text tree, JSON or Graphviz DOT. */
import type { Command } from 'commander';
import { type LineageGraph, type LineageNode, lineageDot, parseInputRef, usageError } from '../../engine/index.js';
import type { Action } from '../action.js';
import { boundedInt } from '../context.js';

interface LineageCliOptions { up?: boolean; down?: boolean; depth?: string; dot?: boolean }

/** More steps than this is a typo: a pipeline is not a million steps deep. */
const MAX_DEPTH = 1_000_000;

export function registerLineage(program: Command, action: Action): void {
  program.command('lineage <repo@ref>').description('the bundles, across repos, a bundle was made from (--up, the default) or that were made from it (--down)')
    .option('--up', 'what it was made from: its inputs, their inputs, ... (default)')
    .option('--down', 'what was made from it (reads every bundle descriptor of the store once)')
    .option('--depth <n>', 'follow at most n steps')
    .option('--dot', 'print a Graphviz digraph (data flows along the arrows)')
    .action(action('lineage', async (ctx, target: string, o: LineageCliOptions) => {
      if (o.up && o.down) throw usageError('give one of --up or --down');
      if (o.dot && ctx.opts.json) throw usageError('give one of --json or --dot');
      const depth = boundedInt(o.depth, '--depth', MAX_DEPTH);
      const { repo, ref } = parseInputRef(target, 'lineage');
      const graph = await (await ctx.repo(repo)).lineage(ref, { direction: o.down ? 'down' : 'up', depth });
      for (const d of graph.damaged) process.stderr.write(`datamover: warning: a damaged bundle descriptor was left out: ${d.problem}\n`);
      if (o.dot) {
        process.stdout.write(lineageDot(graph));
        return;
      }
      ctx.done({ root: graph.root, direction: graph.direction, nodes: graph.nodes, edges: graph.edges }, tree(graph));
    }));
}

/** The graph as an indented tree from the root; a node met again is printed once more, marked, not expanded. */
export function tree(graph: LineageGraph): string[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const next = new Map<string, string[]>();
  for (const e of graph.edges) {
    const [a, b] = graph.direction === 'up' ? [e.to, e.from] : [e.from, e.to];
    next.set(a, [...(next.get(a) ?? []), b]);
  }
  const lines: string[] = [];
  const printed = new Set<string>();
  const visit = (id: string, indent: number, path: Set<string>) => {
    const node = byId.get(id)!;
    const again = printed.has(id);
    const cycle = path.has(id); // cannot happen (ids are fixed before inputs are named), but never loop on it
    lines.push(`${'  '.repeat(indent)}${nodeLine(node)}${cycle ? '  (cycle)' : again ? '  (repeated, see above)' : ''}`);
    if (again || cycle) return;
    printed.add(id);
    for (const child of next.get(id) ?? []) visit(child, indent + 1, new Set([...path, id]));
  };
  visit(graph.root, 0, new Set());
  return lines;
}

function nodeLine(n: LineageNode): string {
  if (n.missing) return `${n.id}  (missing: ${n.missing})`;
  const who = n.contributor ? `${n.contributor.name} <${n.contributor.email}>` : '';
  const run = n.run ? `  run ${n.run.id}` : '';
  return `${n.id}  ${n.created ?? ''}  ${who}${run}${n.truncated ? '  (more beyond --depth)' : ''}`;
}
