/**
 * A lineage graph as inline SVG for the web UI, drawn on the server (no script): by Graphviz (`dot -Tsvg`) when
 * it is installed, else by a simple layout of its own (a column per step from the root, a box per bundle, a
 * curve per input). Either way each bundle is a `<g class="node">` whose `<title>` is its `<repo>@<id>`, linking
 * to its page, and each input a `<g class="edge">`.
 */
import { execFile } from 'node:child_process';
import { lineageDot, nodeLabel } from '../run/lineage-dot.js';
import type { LineageGraph, LineageNode } from '../run/lineage.js';
import { type Html, escapeHtml, raw } from './html.js';
import { bundleUrl } from './links.js';

/** Graphviz gets this long to lay a graph out; past it, the built-in layout draws it. */
const DOT_TIMEOUT_MS = 10_000;

const hrefOf = (n: LineageNode) => bundleUrl(n.repo, n.bundle);

/** The graph drawn (see the file comment). */
export async function lineageSvg(graph: LineageGraph): Promise<Html> {
  return raw((await graphviz(graph)) ?? builtIn(graph));
}

/** Graphviz's SVG (its XML prolog left out), or undefined when `dot` is missing or fails. */
function graphviz(graph: LineageGraph): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile('dot', ['-Tsvg'], { timeout: DOT_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout) => {
      const at = stdout.indexOf('<svg');
      resolve(err || at < 0 ? undefined : stdout.slice(at));
    });
    child.stdin?.on('error', () => undefined); // `dot` missing: the callback says so
    child.stdin?.end(lineageDot(graph, hrefOf));
  });
}

const [BOX_W, LINE_H, GAP_X, GAP_Y, PAD] = [300, 16, 60, 18, 8];

/** The built-in layout: data flows left to right, so the root is the last column going up, the first going down. */
export function builtIn(graph: LineageGraph): string {
  const deepest = Math.max(...graph.nodes.map((n) => n.depth));
  const column = (n: LineageNode) => (graph.direction === 'up' ? deepest - n.depth : n.depth);
  const heights = graph.nodes.map((n) => nodeLabel(n).length * LINE_H + 2 * PAD);
  const rowH = Math.max(...heights) + GAP_Y;
  const rows = new Map<number, number>();
  const at = new Map<string, { x: number; y: number; h: number }>();
  graph.nodes.forEach((n, i) => {
    const c = column(n);
    const r = rows.get(c) ?? 0;
    rows.set(c, r + 1);
    at.set(n.id, { x: PAD + c * (BOX_W + GAP_X), y: PAD + r * rowH, h: heights[i]! });
  });
  const width = PAD * 2 + (deepest + 1) * BOX_W + deepest * GAP_X;
  const height = PAD * 2 + Math.max(...rows.values()) * rowH;
  const nodes = graph.nodes.map((n) => {
    const { x, y, h } = at.get(n.id)!;
    const lines = nodeLabel(n).map((text, i) => `<text x="${x + PAD}" y="${y + PAD + (i + 1) * LINE_H - 4}">${escapeHtml(text)}</text>`).join('');
    const box = `<rect x="${x}" y="${y}" width="${BOX_W}" height="${h}" class="${n.id === graph.root ? 'root' : n.missing ? 'missing' : ''}"/>${lines}`;
    return `<g class="node"><title>${escapeHtml(n.id)}</title>${n.missing ? box : `<a href="${escapeHtml(hrefOf(n))}">${box}</a>`}</g>`;
  });
  const edges = graph.edges.map((e) => {
    const [a, b] = [at.get(e.from)!, at.get(e.to)!];
    const [x1, y1, x2, y2] = [a.x + BOX_W, a.y + a.h / 2, b.x, b.y + b.h / 2];
    const mid = (x1 + x2) / 2;
    return `<g class="edge"><title>${escapeHtml(`${e.from}->${e.to}`)}</title><path d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 2},${y2}" marker-end="url(#arrow)"/></g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>
<style>rect{fill:#fff;stroke:#555}rect.root{stroke-width:2.5}rect.missing{stroke-dasharray:4 3}text{font:12px monospace;fill:#1b1f24}g.edge>path{fill:none;stroke:#555}marker path{fill:#555}</style>
${edges.join('\n')}\n${nodes.join('\n')}\n</svg>`;
}
