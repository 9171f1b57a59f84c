/**
 * Lineage: the graph of bundles, across the repos of a store, that a bundle was made from (up: its
 * descriptor's inputs, their inputs, ...) or that were made from it (down). Answered from the descriptors:
 * up reads one descriptor per bundle reached; down reads every descriptor of the store once and inverts the
 * inputs in memory (one pass, no re-reads).
 */
import { isDatamoverError } from '../errors.js';
import { type DamagedBundle, getBundle, scanBundles } from '../meta/bundles.js';
import { listRepos } from '../meta/repos.js';
import type { Storage } from '../storage/storage.js';
import type { BundleDescriptor, BundleInput, Contributor, RunInfo } from '../vocab.js';

export type LineageDirection = 'up' | 'down';

/** A bundle of the graph; `id` is `<repo>@<bundle id>`. */
export interface LineageNode {
  id: string;
  repo: string;
  bundle: string;
  /** Steps from the root (0 for the root). */
  depth: number;
  created?: string;
  contributor?: Contributor;
  message?: string;
  run?: RunInfo;
  /** Why the descriptor could not be read (an input naming a bundle that is absent or damaged). */
  missing?: string;
  /** The node has neighbours in the direction asked that the depth limit left out. */
  truncated?: boolean;
}

/** `from` was an input of `to` (data flows from → to), whatever the direction asked. */
export interface LineageEdge { from: string; to: string }

export interface LineageGraph {
  root: string;
  direction: LineageDirection;
  /** Nodes in breadth-first order from the root (so each at its least depth); the root first. */
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** Descriptors a downward scan could not read (it went on without them). */
  damaged: DamagedBundle[];
}

export interface LineageQuery { direction: LineageDirection; /** Steps from the root to follow (default: all). */ depth?: number }

export const nodeId = (b: BundleInput): string => `${b.repo}@${b.bundle}`;

/** The lineage of `root` (a committed bundle's descriptor) in the direction asked. Errors: STORAGE, FORMAT. */
export async function lineageOf(storage: Storage, root: BundleDescriptor, query: LineageQuery): Promise<LineageGraph> {
  const neighbours = query.direction === 'up' ? upward(storage) : await downward(storage);
  const rootNode = nodeOf(root, 0);
  const nodes = new Map<string, LineageNode>([[rootNode.id, rootNode]]);
  const described = new Map<string, BundleDescriptor | undefined>([[rootNode.id, root]]);
  const edges = new Map<string, LineageEdge>();
  const queue = [rootNode.id];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const node = nodes.get(next)!;
    if (!neighbours.any(described.get(next), node)) continue;
    if (query.depth !== undefined && node.depth >= query.depth) { node.truncated = true; continue; }
    for (const { ref, descriptor, missing } of await neighbours.of(described.get(next), node)) {
      const id = nodeId(ref);
      const edge = query.direction === 'up' ? { from: id, to: next } : { from: next, to: id };
      edges.set(`${edge.from} ${edge.to}`, edge); // a descriptor naming one input twice makes one edge
      if (nodes.has(id)) continue;
      nodes.set(id, descriptor ? nodeOf(descriptor, node.depth + 1) : { id, ...ref, depth: node.depth + 1, missing });
      described.set(id, descriptor);
      queue.push(id);
    }
  }
  return { root: rootNode.id, direction: query.direction, nodes: [...nodes.values()], edges: [...edges.values()], damaged: neighbours.damaged };
}

interface Neighbour { ref: BundleInput; descriptor?: BundleDescriptor; missing?: string }
interface Neighbours {
  /** Whether the node has neighbours, without reading them (a node at the depth limit is not expanded). */
  any(descriptor: BundleDescriptor | undefined, node: LineageNode): boolean;
  of(descriptor: BundleDescriptor | undefined, node: LineageNode): Promise<Neighbour[]>;
  damaged: DamagedBundle[];
}

/** Up: a bundle's inputs, each descriptor read once (nodes are expanded once, so a read per node). */
function upward(storage: Storage): Neighbours {
  return {
    damaged: [],
    any: (descriptor) => !!descriptor?.inputs?.length,
    async of(descriptor) {
      const near: Neighbour[] = [];
      for (const ref of descriptor?.inputs ?? []) {
        try {
          near.push({ ref, descriptor: await getBundle(storage, ref.repo, ref.bundle) });
        } catch (err) {
          if (!isDatamoverError(err, 'NOT_FOUND') && !isDatamoverError(err, 'INTEGRITY')) throw err;
          near.push({ ref, missing: err.message });
        }
      }
      return near;
    },
  };
}

/** Down: every descriptor of the store read once; each input mapped to the bundles made from it. */
async function downward(storage: Storage): Promise<Neighbours> {
  const madeFrom = new Map<string, BundleDescriptor[]>();
  const damaged: DamagedBundle[] = [];
  for (const repo of await listRepos(storage)) {
    const scan = await scanBundles(storage, repo.name);
    damaged.push(...scan.damaged);
    for (const bundle of scan.bundles) {
      for (const input of bundle.inputs ?? []) {
        const key = nodeId(input);
        madeFrom.set(key, [...(madeFrom.get(key) ?? []), bundle]);
      }
    }
  }
  return {
    damaged,
    any: (_descriptor, node) => madeFrom.has(node.id),
    of: async (_descriptor, node) => (madeFrom.get(node.id) ?? []).map((d) => ({ ref: { repo: d.repo, bundle: d.id }, descriptor: d })),
  };
}

function nodeOf(b: BundleDescriptor, depth: number): LineageNode {
  return {
    id: nodeId({ repo: b.repo, bundle: b.id }), repo: b.repo, bundle: b.id, depth, created: b.created, contributor: b.contributor,
    message: b.message, ...(b.run ? { run: b.run } : {}),
  };
}
