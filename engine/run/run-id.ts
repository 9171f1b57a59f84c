/**
 * Run ids: what joins a run's reads (the read log) to its writes (the bundles it made). Given by the caller, or
 * taken from the scheduler the process runs under.
 */
import { InputError } from '../errors.js';

/** The longest run id taken: ids are written into every descriptor and read record of the run. */
export const MAX_RUN_ID = 256;

/** Returns `id`, or fails with USAGE (an InputError of field `run`) when it is empty, too long or holds control characters. */
export function checkRunId(id: string): string {
  // eslint-disable-next-line no-control-regex
  if (!id.trim() || id.length > MAX_RUN_ID || /[\x00-\x1f\x7f]/.test(id)) {
    throw new InputError('run', JSON.stringify(id), `expected 1 to ${MAX_RUN_ID} printable characters`);
  }
  return id;
}

/**
 * The identity of the job this process runs as, if any, first found of:
 * - Argo Workflows: `argo:<workflow>/<node id>` (the controller sets ARGO_NODE_ID on every container of a
 *   step's pod, and ARGO_WORKFLOW_NAME in recent versions; the node id alone when the name is absent);
 * - GitHub Actions: `github:<GITHUB_RUN_ID>.<GITHUB_RUN_ATTEMPT>` (a rerun is a new attempt of the same run);
 * - GitLab CI: `gitlab:<CI_JOB_ID>`;
 * - Kubernetes: `k8s:<pod name>` (HOSTNAME), only when KUBERNETES_SERVICE_HOST says this is a pod.
 * Undefined when none is found.
 */
export function runIdFromEnv(env: Record<string, string | undefined> = process.env): string | undefined {
  const set = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const argoNode = set('ARGO_NODE_ID');
  if (argoNode) return `argo:${set('ARGO_WORKFLOW_NAME') ? `${set('ARGO_WORKFLOW_NAME')}/` : ''}${argoNode}`;
  const github = set('GITHUB_RUN_ID');
  if (github) return `github:${github}.${set('GITHUB_RUN_ATTEMPT') ?? '1'}`;
  const gitlab = set('CI_JOB_ID');
  if (gitlab) return `gitlab:${gitlab}`;
  const pod = set('HOSTNAME');
  if (set('KUBERNETES_SERVICE_HOST') && pod) return `k8s:${pod}`;
  return undefined;
}
