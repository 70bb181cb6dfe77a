// The REST API's shapes as zod schemas: handlers validate with them and the OpenAPI document is generated from them.
import { z } from 'zod';
import { MAX_FILTER_LENGTH } from './cel-filter.ts';

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_SEARCH_HITS = 100;
export const DEFAULT_SEARCH_HITS = 20;
export const MAX_AUDIT_EVENTS = 1000;
export const DEFAULT_AUDIT_EVENTS = 100;

const dateTime = z.iso.datetime({ offset: true }).describe('RFC 3339 date-time, e.g. 2026-11-01T00:00:00Z');
/** Query parameters that may be given more than once arrive as an array. */
const repeatable = (item: z.ZodString) => z.union([item, z.array(item).max(100)]);

export const manifestIdSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be a manifest id: 64 lowercase hex digits')
  .describe('Manifest id (64 hex digits), as listed by GET /api/v1/workflows');
export const nodeIdSchema = z
  .string()
  .max(253)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be an Argo node id (letters, digits, ".", "_", "-")');

/**
 * A page size: the query string carries text, the document says integer 1..max (so a client generating from it
 * never sends a size the server refuses).
 */
const pageLimit = (max: number) =>
  z.coerce
    .number()
    .int('must be a whole number')
    .min(1, `must be between 1 and ${max}`)
    .max(max, `must be between 1 and ${max}`)
    .optional();

const namespaceSchema = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a Kubernetes namespace name');

export const listWorkflowsQuery = z
  .object({
    namespace: repeatable(namespaceSchema).optional().describe('only these namespaces (repeatable)'),
    namePrefix: z.string().min(1).max(253).optional().describe('workflow name starts with this'),
    phase: repeatable(z.string().min(1).max(32)).optional().describe('Argo phase, case-insensitive (repeatable)'),
    labelSelector: z
      .string()
      .max(4096)
      .optional()
      .describe('Kubernetes label selector: k=v, k!=v, k in (a,b), k notin (a,b), k, !k; comma = and'),
    incomplete: z.enum(['true', 'false']).optional().describe('archived with (true) or without (false) missing data'),
    startedAfter: dateTime.optional(),
    startedBefore: dateTime.optional(),
    finishedAfter: dateTime.optional(),
    finishedBefore: dateTime.optional(),
    archivedAfter: dateTime.optional(),
    archivedBefore: dateTime.optional(),
    sort: z
      .enum(['newest', 'oldest', 'name'])
      .optional()
      .describe('newest/oldest by finish (else start, else archive) time; name by namespace/name'),
    limit: pageLimit(MAX_PAGE_SIZE).describe(`page size, 1..${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})`),
    cursor: z.string().max(1024).optional().describe('opaque: nextCursor of the previous page, with the same filters'),
    filter: z
      .string()
      .min(1)
      .max(MAX_FILTER_LENGTH)
      .optional()
      .describe(
        'CEL expression over each row (and the other filters): ns, name, uid, manifestId, phase, labels, startedAt, ' +
          'finishedAt, archivedAt, duration, incomplete, entries, sizeBytes, group, now; RE2 matches(). E.g. ' +
          '`phase == "Failed" && labels["team"] == "a" && now - finishedAt < duration("24h")`. See docs/api.md',
      ),
  })
  .strict();

export const workflowSummary = z
  .object({
    manifestId: z.string(),
    uid: z.string(),
    namespace: z.string(),
    name: z.string(),
    phase: z.string().optional(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    archivedAt: z.string().optional(),
    labels: z.record(z.string(), z.string()),
    group: z.string().optional(),
    incomplete: z.boolean(),
    entries: z.number().int(),
    bytes: z.number().int(),
  })
  .strict();

export const workflowPage = z
  .object({
    items: z.array(workflowSummary),
    nextCursor: z.string().optional().describe('absent on the last page'),
  })
  .strict();

const entry = z
  .object({
    path: z.string(),
    kind: z.string(),
    nodeId: z.string().optional(),
    container: z.string().optional(),
    artifactName: z.string().optional(),
    size: z.number().int().optional(),
    sha256: z.string().optional(),
  })
  .strict();

const node = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    displayName: z.string().optional(),
    type: z.string().optional(),
    phase: z.string().optional(),
    templateName: z.string().optional(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    message: z.string().optional(),
    children: z.array(z.string()),
    logs: z.array(z.object({ container: z.string(), path: z.string(), size: z.number().int().optional() }).strict()),
  })
  .strict();

const actorVerified = z
  .boolean()
  .optional()
  .describe(
    'true when the actor was verified (a server caller, a cluster identity); absent/false: taken on their word',
  );

export const hold = z
  .object({
    id: z.string(),
    actor: z.string(),
    actorVerified,
    reason: z.string(),
    created: z.string(),
    released: z.object({ actor: z.string(), actorVerified, reason: z.string(), at: z.string() }).strict().optional(),
    unverified: z
      .string()
      .optional()
      .describe('why the stored record does not verify: it is then kept as an active hold (fail closed)'),
  })
  .strict();

export const extension = z
  .object({
    id: z.string(),
    actor: z.string(),
    actorVerified,
    reason: z.string(),
    created: z.string(),
    until: z.string(),
    approval: z
      .object({ name: z.string(), approver: z.string() })
      .strict()
      .optional()
      .describe("another person's approval, for an extension beyond the configured limit"),
    unverified: z
      .string()
      .optional()
      .describe('why the stored record does not verify: it then keeps the workflow without end'),
  })
  .strict();

export const workflowDetail = z
  .object({
    workflow: workflowSummary,
    object: z.record(z.string(), z.unknown()).optional().describe('the archived Workflow object, when it was archived'),
    nodes: z.array(node).describe("from the Workflow's status.nodes; children name other nodes' ids"),
    entries: z.array(entry),
    holds: z.array(hold),
    extensions: z.array(extension),
  })
  .strict();

export const logQuery = z
  .object({
    container: z
      .string()
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a container name')
      .optional()
      .describe('default main'),
    grep: z.string().min(1).max(1024).optional().describe('only lines containing this text (literal, case-sensitive)'),
  })
  .strict();

export const searchQuery = z
  .object({
    q: z.string().min(1).max(1024).describe('full-text query: words, "phrase", prefix*, a OR b, a NOT b, (groups)'),
    namespace: repeatable(namespaceSchema).optional(),
    limit: pageLimit(MAX_SEARCH_HITS).describe(`hits, 1..${MAX_SEARCH_HITS} (default ${DEFAULT_SEARCH_HITS})`),
  })
  .strict();

export const searchResult = z
  .object({
    hits: z.array(
      z
        .object({
          manifestId: z.string(),
          uid: z.string(),
          namespace: z.string(),
          name: z.string(),
          nodeId: z.string().optional(),
          container: z.string().optional(),
          path: z.string(),
          line: z.number().int(),
          snippet: z.string().describe('the line around the first match; matches between « and »'),
          snippetText: z.string().describe('the same without markers'),
          // Pairs as 2-item arrays rather than a tuple: a tuple's prefixItems trips OpenAPI 3.1 tools (schemathesis).
          highlights: z.array(z.array(z.number().int()).length(2)).describe('[start, end) in snippetText'),
        })
        .strict(),
    ),
  })
  .strict();

export const problem = z
  .object({
    error: z
      .object({
        status: z.number().int(),
        message: z.string(),
        field: z.string().optional().describe('the parameter at fault'),
      })
      .strict(),
  })
  .strict();

/** Configuration re-read while serving (retention policies, prices): the version in force, and a refused newer one. */
const liveConfigStatus = z
  .object({
    source: z.string(),
    generation: z.number().int(),
    loadedAt: z.string(),
    problems: z.array(z.string()).describe('errors of the version in force (a start-up version failing closed)'),
    rejected: z
      .object({ at: z.string(), problems: z.array(z.string()) })
      .strict()
      .optional()
      .describe('the newest version of the sources, refused: the one in force keeps serving'),
  })
  .strict();

export const health = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    reason: z.string().optional(),
    config: z.record(z.string(), liveConfigStatus).optional(),
  })
  .strict();

/** A segment other than "", "." and "..", without "/", "\" or NUL. */
const SEGMENT = String.raw`(?:[^/\\\x00.][^/\\\x00]*|\.[^/\\\x00.][^/\\\x00]*|\.\.[^/\\\x00]+)`;
/** A regular expression (not a refinement) so the OpenAPI document states it and clients can generate valid paths. */
const ENTRY_PATH = new RegExp(`^${SEGMENT}(?:/${SEGMENT})*$`);

/** An archive entry path as a single URL segment (slashes percent-encoded), never climbing out. */
export const entryPathSchema = z
  .string()
  .min(1)
  .max(1024)
  .regex(ENTRY_PATH, 'must be a relative entry path without "", "." or ".." segments, "\\" or NUL')
  .describe('entry path, URL-encoded as one segment (e.g. artifacts%2Fnode%2Fout.tgz)');

export const restoreIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be a restore job id: 32 lowercase hex digits');

export const artifactList = z.object({ items: z.array(entry) }).strict();

const restoreScope = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('workflow') }).strict(),
  z
    .object({
      kind: z.literal('log'),
      nodeId: nodeIdSchema,
      container: z
        .string()
        .max(63)
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
        .default('main'),
    })
    .strict(),
  z.object({ kind: z.literal('artifact'), path: entryPathSchema }).strict(),
]);

const restoreTarget = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('download') }).strict(),
    z
      .object({
        kind: z.literal('bucket'),
        overwrite: z
          .boolean()
          .default(false)
          .describe('replace objects at the keys that hold other bytes (default: leave them, and the job fails)'),
      })
      .strict(),
  ])
  .describe(
    "download (default): files of the job; bucket: the scope's logs and artifacts (the whole workflow's, or one log " +
      "or artifact) back into the namespace's artifact repository (from the server configuration) at the keys Argo recorded",
  );

export const restoreRequest = z
  .object({
    requestId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9._:-]+$/, 'must be letters, digits, ".", "_", ":" or "-"')
      .describe('idempotency key chosen by the client: the same caller and id always get the same job'),
    manifestId: manifestIdSchema,
    scope: restoreScope.describe('the whole workflow, one log of a node, or one artifact (or a directory of one)'),
    target: restoreTarget.optional(),
  })
  .strict();

export const restoreJob = z
  .object({
    id: z.string(),
    requestId: z.string(),
    manifestId: z.string(),
    namespace: z.string(),
    workflow: z.string(),
    scope: restoreScope,
    target: restoreTarget.optional().describe('absent on jobs from before targets existed: download'),
    bucket: z
      .object({
        url: z.string().describe("s3://bucket/ of the namespace's artifact repository"),
        written: z.number().int(),
        unchanged: z.number().int().describe('already there with the same SHA-256'),
        skipped: z.number().int().describe('entries with no recorded key (the Workflow object, sidecar logs)'),
        bytes: z.number().int(),
        conflicts: z.array(z.object({ path: z.string(), key: z.string(), reason: z.string() }).strict()),
      })
      .strict()
      .optional()
      .describe('a bucket target: where it writes and, once ended, what it wrote (each object read back and hashed)'),
    requestedBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    phase: z.enum(['Pending', 'Running', 'Verifying', 'Succeeded', 'Failed', 'Cancelled']),
    progress: z
      .object({
        bytesDone: z.number().int(),
        bytesTotal: z.number().int(),
        entriesVerified: z.number().int(),
        entriesTotal: z.number().int(),
        thaw: z
          .object({
            state: z
              .enum(['not-needed', 'thawing', 'ready'])
              .describe('not-needed: no pack is cold; thawing: their restore is requested; ready: all readable'),
            coldPacks: z.number().int().describe('packs of the workflow in GLACIER or DEEP_ARCHIVE'),
            readyPacks: z.number().int().describe('of those, readable now (a thawed copy)'),
          })
          .strict()
          .optional()
          .describe('packs in a cold storage class; absent until the job has looked at its packs'),
      })
      .strict(),
    result: z
      .object({
        files: z.array(
          z.object({ path: z.string(), entry: z.string(), size: z.number().int(), sha256: z.string() }).strict(),
        ),
        bytes: z.number().int(),
        verified: z.literal(true),
      })
      .strict()
      .optional()
      .describe('once Succeeded: each file hashed again on disk and equal to the manifest'),
    error: z.string().optional(),
    cancelledBy: z.string().optional(),
    argoWorkflow: z
      .object({
        namespace: z.string(),
        name: z.string(),
        uid: z.string().optional(),
        phase: z.string().optional().describe("Argo's phase of it"),
        artifactKey: z.string().optional().describe("the `restored` output artifact's key in the artifact repository"),
      })
      .strict()
      .optional()
      .describe('in a cluster: the strata-restore Workflow that runs the job (see it in the Argo UI)'),
  })
  .strict();

export const restoreList = z.object({ items: z.array(restoreJob) }).strict();

/** The hold store's ids (lib/holds): 1-128 of A-Z a-z 0-9 . _ -, a letter or digit first, never "..". */
export const recordIdSchema = z
  .string()
  .max(128)
  .regex(
    /^[A-Za-z0-9](?:\.?[A-Za-z0-9_-])*\.?$/,
    'must be 1-128 of A-Z a-z 0-9 . _ - (a letter or digit first, no "..")',
  );

const reasonSchema = z.string().trim().min(1, 'must say why').max(1024).describe('why (case number, ticket)');

export const holdRequest = z
  .object({
    id: recordIdSchema.describe(
      "the hold's id, chosen by the client: the same caller sending the same id and reason again gets the same hold",
    ),
    reason: reasonSchema,
  })
  .strict();

export const releaseRequest = z.object({ reason: reasonSchema.describe('why the hold ends') }).strict();

export const extensionRequest = z
  .object({
    id: recordIdSchema.describe(
      "the extension's id, chosen by the client: the same caller sending the same id and until again gets the same extension",
    ),
    reason: reasonSchema,
    until: dateTime.describe('keep the workflow at least until then (in the future; RFC 3339)'),
  })
  .strict();

export const holdList = z
  .object({
    holds: z.array(hold).describe('released ones too (with their release)'),
    extensions: z.array(extension),
  })
  .strict();

export const holdWrite = z
  .object({
    hold,
    storeLocks: z.string().describe("what the store's Object Lock did for all holds (or that it has none)"),
  })
  .strict();

/** An extension asked for past the limit: waiting for another person's approval, approved, or rejected. */
export const extensionRequestState = z
  .object({
    id: z.string().describe("the extension's id: approved, the extension is written under it"),
    workflowUid: z.string(),
    namespace: z.string(),
    manifestId: z.string().describe('the archive the request addressed: approve or reject through it'),
    requester: z.string().describe('the verified caller who asked: the extension is theirs once approved'),
    reason: z.string(),
    until: z.string(),
    created: z.string(),
    state: z.enum(['pending', 'approved', 'rejected']),
    needs: z.string().optional().describe('pending: what it waits for'),
    approver: z.string().optional(),
    rejection: z.object({ by: z.string(), reason: z.string(), at: z.string() }).strict().optional(),
  })
  .strict();

export const extensionWrite = z
  .object({
    extension: extension
      .optional()
      .describe('the extension in force (201, or 200 when this caller made it before); absent while pending'),
    pending: extensionRequestState
      .optional()
      .describe("past the limit without another person's approval: the request waits for one (202)"),
  })
  .strict();

export const rejectRequest = z.object({ reason: reasonSchema.describe('why the request is turned down') }).strict();

export const approvalsQuery = z
  .object({
    namespace: z
      .union([z.string().min(1).max(253), z.array(z.string().min(1).max(253)).max(100)])
      .optional()
      .describe('only these namespaces (repeatable); each must be one the caller may approve in'),
  })
  .strict();

export const approvalList = z
  .object({
    items: z
      .array(extensionRequestState)
      .describe('pending requests of the namespaces the caller may approve in, oldest first'),
  })
  .strict();

const tierSchema = z.enum(['hot', 'warm', 'cold', 'deepArchive']);

export const policyExplanation = z
  .object({
    workflow: z.object({ uid: z.string(), namespace: z.string(), name: z.string(), phase: z.string() }).strict(),
    policy: z
      .object({ valid: z.boolean(), problems: z.array(z.string()) })
      .strict()
      .describe('the policies the server explains with (strata serve --policy); invalid: everything fails closed'),
    action: z.string().describe('what the policy does now: keep, archive, move (to targetTier) or delete'),
    targetTier: z.string().optional(),
    winningRule: z.string().optional().describe('the rule whose settings apply; absent: the defaults'),
    matchedRules: z.array(z.string()),
    reasons: z.array(z.string()).describe('why, in words: the winner, compliance floors, holds, extensions'),
    failedClosed: z.boolean(),
    complianceClass: z.string().optional(),
    complianceFloor: z.string().optional().describe('no deletion before this (RFC 3339), or "indefinite"'),
    group: z.string().describe('timeline group: retention class + archive period'),
    destination: z.string().optional(),
    deleteSourceAfterArchive: z.boolean(),
    extendedUntil: z.string().optional().describe('the latest extension'),
    rules: z.array(
      z
        .object({
          rule: z.string(),
          priority: z.number().int(),
          order: z.number().int(),
          matched: z.union([z.boolean(), z.literal('error')]),
          error: z.string().optional(),
          complianceClass: z.string().optional(),
          sets: z.array(z.string()),
          at: z.string().describe('file:line of the rule'),
        })
        .strict(),
    ),
    schedule: z
      .object({
        archiveOn: z.string().optional(),
        warmOn: z.string().optional(),
        coldOn: z.string().optional(),
        deepArchiveOn: z.string().optional(),
        deleteOn: z.string().describe('RFC 3339, or "never" / "never while held"'),
      })
      .strict(),
    activeHolds: z.array(z.string()).describe('ids of the holds in force: while any is, nothing is deleted'),
  })
  .strict();

export const workflowTimeline = z
  .object({
    tiers: z
      .object({
        hot: z.number().int().optional(),
        warm: z.number().int().optional(),
        cold: z.number().int().optional(),
        deepArchive: z.number().int().optional(),
      })
      .strict()
      .describe("how many of the workflow's packs are in each tier now (Strata's tier records)"),
    events: z.array(
      z
        .object({
          at: z.string(),
          kind: z.enum(['archived', 'tier', 'hold-set', 'hold-released', 'extended', 'planned-tier', 'planned-delete']),
          tier: tierSchema.optional(),
          packs: z.number().int().optional(),
          id: z.string().optional(),
          actor: z.string().optional(),
          detail: z.string(),
        })
        .strict(),
    ),
  })
  .strict();

export const auditEventsQuery = z
  .object({
    limit: pageLimit(MAX_AUDIT_EVENTS).describe(
      `newest records, 1..${MAX_AUDIT_EVENTS} (default ${DEFAULT_AUDIT_EVENTS})`,
    ),
  })
  .strict();

export const auditEventList = z
  .object({
    items: z.array(
      z
        .object({
          at: z.string(),
          action: z.string(),
          outcome: z.string(),
          actor: z.string(),
          verified: z.boolean(),
          subject: z.string(),
          reason: z.string().optional(),
          approver: z.string().optional(),
          details: z.record(z.string(), z.unknown()).optional(),
        })
        .strict(),
    ),
  })
  .strict();
