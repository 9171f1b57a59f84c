/** A lineage graph as Graphviz DOT (`lineage --dot`; the web UI draws it with `dot -Tsvg`). */
import type { LineageGraph, LineageNode } from './lineage.js';

/**
 * One box per bundle (repo, id, time, contributor, run), an arrow per input (data flows along the arrows). With
 * `href`, each box links there (an SVG rendering keeps the links).
 */
export function lineageDot(graph: LineageGraph, href?: (node: LineageNode) => string): string {
  const lines = ['digraph lineage {', '  rankdir=LR;', '  node [shape=box, fontname="monospace"];'];
  for (const n of graph.nodes) {
    const style = n.id === graph.root ? ', style=bold' : n.missing ? ', style=dashed' : '';
    const link = href && !n.missing ? `, URL=${quoted(href(n))}` : '';
    lines.push(`  ${quoted(n.id)} [label=${quoted(nodeLabel(n).join('\n'))}${style}${link}];`);
  }
  for (const e of graph.edges) lines.push(`  ${quoted(e.from)} -> ${quoted(e.to)};`);
  return `${lines.join('\n')}\n}\n`;
}

/** The lines a node's box shows. */
export function nodeLabel(n: LineageNode): string[] {
  return [n.repo, n.bundle, ...(n.missing ? ['(missing)'] : [n.created ?? '', n.contributor?.name ?? '']),
    ...(n.run ? [`run ${n.run.id}`] : [])].filter(Boolean);
}

/**
 * A DOT double-quoted string. Inside one only `\"` is an escape of the language, but labels read backslash
 * sequences (`\n`, `\l`, `\N`, ...) as their own escapes: a backslash is doubled so that it shows as itself.
 * Newlines become `\n` (a centred line break); other control characters are shown as spaces.
 */
export function quoted(text: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n').replace(/[\x00-\x1f\x7f]/g, ' ')}"`;
}
