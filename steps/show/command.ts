// `strata show`: one archived workflow — its node tree with each node's logs, artifacts, holds and extensions, and
// its timeline (tier records, holds, what the policy plans next) — read from the archive, audited as a read.
import {
  archivedWorkflowObject,
  describeResolution,
  openRepository,
  resolveManifest,
} from '../../lib/archive/index.ts';
import type { Manifest } from '../../lib/archive/manifest.ts';
import { nodeTree, type NodeView } from '../../lib/bundle/node-tree.ts';
import { identityClaim, withIdentityOptions } from '../../lib/cli/identity-options.ts';
import { stepCommand } from '../../lib/cli/step-command.ts';
import { describeError, ExitCode, StrataError } from '../../lib/errors.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { explainRetention } from '../../lib/policy/explain.ts';
import { formatProblem, loadPolicySet } from '../../lib/policy/index.ts';
import type { HoldsAndExtensions } from '../../lib/policy/holds.ts';
import { manifestInput } from '../../lib/policy/inputs.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';
import { workflowTimeline, type WorkflowTimeline } from '../../lib/tier/workflow-timeline.ts';

/** A Workflow object larger than this is not read for the node tree (restore it instead). */
const MAX_OBJECT_BYTES = 32 * 1024 * 1024;

export const showCommand = stepCommand({
  command: 'show <workflow>',
  describe: 'Show an archived workflow: node tree with logs, artifacts, holds, extensions and its tier timeline',
  builder: (y) =>
    withIdentityOptions(y)
      .positional('workflow', {
        type: 'string',
        demandOption: true,
        describe: 'workflow uid, name, namespace/name, or manifest id',
      })
      .option('policy', {
        type: 'string',
        array: true,
        describe: 'policy files or directories for the planned moves and expiry (default: built-in defaults)',
      }),
  handler: async (args, ctx) => {
    const store = ctx.store();
    const repo = await openRepository(store);
    const resolved = await resolveManifest(repo, args.workflow);
    if (resolved.others.length > 0 || resolved.unreadable.length > 0)
      ctx.log(`showing ${describeResolution(resolved)}`);
    const { id, manifest } = resolved;
    const wf = manifest.workflow;
    const caller = await ctx.caller(identityClaim(args));
    await caller.require(
      { verb: 'get', resource: 'archives', namespace: wf.namespace, name: wf.uid },
      { audit: ctx.audit, action: 'read', subject: id },
    );
    // The Workflow object is archived content: its read is on the record before anything of it is printed.
    try {
      await ctx.audit.record({
        action: 'read',
        ...caller.auditActor,
        subject: id,
        outcome: 'ok',
        details: { what: 'workflow', namespace: wf.namespace, name: wf.name, ...caller.auditActor.details },
      });
    } catch (err) {
      throw new StrataError(`show of ${id} refused: its audit record could not be written: ${describeError(err)}`);
    }
    const object = await archivedWorkflowObject(repo, manifest, MAX_OBJECT_BYTES);
    const holds = await new HoldRepository(store).forWorkflow(wf.uid);
    const { policySet, problems } = loadPolicySet(readPolicySources(args.policy ?? []));
    for (const p of problems) ctx.log(formatProblem(p));
    const now = new Date();
    const explained = explainRetention(policySet, manifestInput(manifest, `manifest ${id}`).facts, now, holds);
    const timeline = await workflowTimeline(repo, manifest, { holds, schedule: explained.dates, now });
    const shown = {
      manifestId: id,
      workflow: wf,
      incomplete: manifest.incomplete,
      nodes: nodeTree(object, manifest.entries),
      artifacts: manifest.entries
        .filter((e) => e.kind === 'artifact')
        .map((e) => ({ path: e.path, nodeId: e.nodeId, name: e.artifactName, size: e.size })),
      ...holds,
      timeline,
      policy: { winningRule: explained.decision.winningRule ?? '(defaults)', dates: explained.dates },
    };
    if (ctx.config.output === 'table') process.stdout.write(renderShow(id, manifest, shown, holds, timeline) + '\n');
    else ctx.output(shown);
    return ExitCode.Ok;
  },
});

function bytes(n: number | undefined): string {
  if (n === undefined) return '';
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** The terminal view: the tree indented from its roots, then artifacts, holds and the timeline. */
function renderShow(
  id: string,
  manifest: Manifest,
  shown: { nodes: NodeView[]; artifacts: Array<{ path: string; size?: number }>; policy: { winningRule: string } },
  holds: HoldsAndExtensions,
  timeline: WorkflowTimeline,
): string {
  const wf = manifest.workflow;
  const lines = [
    `workflow ${wf.namespace}/${wf.name} (uid ${wf.uid}, phase ${wf.phase ?? 'unknown'})`,
    `manifest ${id}${manifest.incomplete ? '  INCOMPLETE' : ''}`,
    `started ${wf.startedAt ?? '-'}  finished ${wf.finishedAt ?? '-'}  archived ${manifest.createdAt ?? '-'}`,
    '',
    'nodes:',
  ];
  const byId = new Map(shown.nodes.map((n) => [n.id, n]));
  const children = new Set(shown.nodes.flatMap((n) => n.children));
  const seen = new Set<string>();
  const walk = (n: NodeView, depth: number) => {
    if (seen.has(n.id)) return;
    seen.add(n.id);
    const what = [n.type, n.phase].filter(Boolean).join(', ');
    lines.push(`${'  '.repeat(depth + 1)}${n.displayName ?? n.name ?? n.id}${what ? ` (${what})` : ''}  [${n.id}]`);
    for (const l of n.logs) lines.push(`${'  '.repeat(depth + 2)}log ${l.container}: ${l.path}  ${bytes(l.size)}`);
    for (const c of n.children) {
      const child = byId.get(c);
      if (child) walk(child, depth + 1);
    }
  };
  for (const n of shown.nodes) if (!children.has(n.id)) walk(n, 0);
  for (const n of shown.nodes) walk(n, 0); // nodes only reachable through a cycle
  if (!shown.nodes.length) lines.push('  (no node tree: the Workflow object was not archived or is too large)');
  lines.push('', 'artifacts:');
  for (const a of shown.artifacts) lines.push(`  ${a.path}  ${bytes(a.size)}`);
  if (!shown.artifacts.length) lines.push('  (none)');
  lines.push('', 'holds:');
  for (const h of holds.holds) {
    const released = h.released ? `; released ${h.released.at} by ${h.released.actor}: ${h.released.reason}` : '';
    lines.push(
      `  ${h.id}  set ${h.created} by ${h.actor}${h.actorVerified ? '' : ' (unverified)'}: ${h.reason}${released}`,
    );
  }
  for (const x of holds.extensions) lines.push(`  extension ${x.id}  until ${x.until} by ${x.actor}: ${x.reason}`);
  if (!holds.holds.length && !holds.extensions.length) lines.push('  (none)');
  const now = Object.entries(timeline.tiers)
    .map(([tier, n]) => `${tier} ${n}`)
    .join(', ');
  lines.push('', `timeline (packs now: ${now || 'none'}; policy: ${shown.policy.winningRule}):`);
  for (const e of timeline.events) lines.push(`  ${e.at}  ${e.kind.padEnd(14)} ${e.detail}`);
  lines.push('', `logs: strata restore ${wf.uid} --node <node id> [--log <container>]`);
  return lines.join('\n');
}
