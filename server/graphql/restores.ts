// Restore jobs in GraphQL: the caller's jobs and one job (queries), start and cancel (mutations), over the same
// job service as REST (server/restores/job.ts): the same request schema, permissions, idempotency and audit.
import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLFloat,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
  type GraphQLFieldConfigMap,
  type GraphQLOutputType,
} from 'graphql';
import { z } from 'zod';
import type { CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import { HttpError } from '../api/errors.ts';
import { validate } from '../api/list-params.ts';
import { restoreIdSchema, restoreRequest } from '../api/schemas.ts';
import type { Caller } from '../auth/access.ts';
import { targetOf, type RestoreJob, type RestoreJobService } from '../restores/job.ts';
import type { ArchiveService } from '../service/archive-service.ts';

/** What the restore resolvers need from the request (a subset of the schema's context). */
export interface RestoreContext {
  caller: Caller;
  service: ArchiveService;
  restores: RestoreJobService | undefined;
}

const jobId = z.object({ id: restoreIdSchema }).strict();

const nn = <T extends GraphQLOutputType>(t: T) => new GraphQLNonNull(t);
const list = <T extends GraphQLOutputType>(t: T) => nn(new GraphQLList(nn(t)));

function jobs(ctx: RestoreContext): RestoreJobService {
  if (!ctx.restores)
    throw new HttpError(
      503,
      'restores are not enabled on this server (start it with --restore-dir, or --restore-jobs=argo in a cluster)',
    );
  return ctx.restores;
}

const RestorePhase = new GraphQLEnumType({
  name: 'RestorePhase',
  values: Object.fromEntries(
    ['Pending', 'Running', 'Verifying', 'Succeeded', 'Failed', 'Cancelled'].map((p) => [p.toUpperCase(), { value: p }]),
  ),
});

const RestoreKind = new GraphQLEnumType({
  name: 'RestoreKind',
  values: { WORKFLOW: { value: 'workflow' }, LOG: { value: 'log' }, ARTIFACT: { value: 'artifact' } },
});

const RestoreScope = new GraphQLObjectType({
  name: 'RestoreScope',
  description: 'The whole workflow, one log of a node, or one artifact (or a directory of them)',
  fields: {
    kind: { type: nn(RestoreKind) },
    nodeId: { type: GraphQLString },
    container: { type: GraphQLString },
    path: { type: GraphQLString },
  },
});

const RestoreTargetKind = new GraphQLEnumType({
  name: 'RestoreTargetKind',
  values: { DOWNLOAD: { value: 'download' }, BUCKET: { value: 'bucket' } },
});

const RestoreTarget = new GraphQLObjectType({
  name: 'RestoreTarget',
  description: "Files of the job (DOWNLOAD), or back into the namespace's artifact repository (BUCKET)",
  fields: {
    kind: { type: nn(RestoreTargetKind) },
    overwrite: { type: GraphQLBoolean, description: 'BUCKET: replace objects at the keys that hold other bytes' },
  },
});

const BucketConflict = new GraphQLObjectType({
  name: 'BucketConflict',
  fields: { path: { type: nn(GraphQLString) }, key: { type: nn(GraphQLString) }, reason: { type: nn(GraphQLString) } },
});

const BucketRestore = new GraphQLObjectType({
  name: 'BucketRestore',
  description: "A BUCKET target: the namespace's artifact repository and, once ended, what was written",
  fields: {
    url: { type: nn(GraphQLString) },
    written: { type: nn(GraphQLFloat) },
    unchanged: { type: nn(GraphQLFloat), description: 'already there with the same SHA-256' },
    skipped: { type: nn(GraphQLFloat), description: 'entries with no recorded key' },
    bytes: { type: nn(GraphQLFloat) },
    conflicts: { type: list(BucketConflict), description: 'keys holding other bytes, left as they are' },
  },
});

const ThawState = new GraphQLEnumType({
  name: 'ThawState',
  values: { NOT_NEEDED: { value: 'not-needed' }, THAWING: { value: 'thawing' }, READY: { value: 'ready' } },
});

const ThawProgress = new GraphQLObjectType({
  name: 'ThawProgress',
  description: 'Packs in a cold storage class (GLACIER, DEEP_ARCHIVE): THAWING once their restore is requested',
  fields: {
    state: { type: nn(ThawState) },
    coldPacks: { type: nn(GraphQLFloat) },
    readyPacks: { type: nn(GraphQLFloat), description: 'of the cold packs, readable now' },
  },
});

const RestoreWorkflow = new GraphQLObjectType({
  name: 'RestoreWorkflow',
  description: 'In a cluster: the strata-restore Workflow that runs the job (see it in the Argo UI)',
  fields: {
    namespace: { type: nn(GraphQLString) },
    name: { type: nn(GraphQLString) },
    uid: { type: GraphQLString },
    phase: { type: GraphQLString, description: "Argo's phase of it" },
    artifactKey: { type: GraphQLString, description: "the restored output artifact's key" },
  },
});

const RestoreProgress = new GraphQLObjectType({
  name: 'RestoreProgress',
  fields: {
    thaw: { type: ThawProgress, description: 'null until the job has looked at its packs' },
    bytesDone: { type: nn(GraphQLFloat), description: 'bytes (Float: exact to 2^53, past the 32 bits of Int)' },
    bytesTotal: { type: nn(GraphQLFloat) },
    entriesVerified: { type: nn(GraphQLFloat) },
    entriesTotal: { type: nn(GraphQLFloat) },
  },
});

type ResultFile = NonNullable<RestoreJob['result']>['files'][number] & { jobId: string };

const RestoredFile = new GraphQLObjectType<ResultFile>({
  name: 'RestoredFile',
  fields: {
    path: { type: nn(GraphQLString), description: "path inside the job's result" },
    entry: { type: nn(GraphQLString), description: 'the archive entry it came from' },
    size: { type: nn(GraphQLFloat) },
    sha256: { type: nn(GraphQLString), description: 'hashed again on disk, equal to the manifest' },
    downloadUrl: {
      type: nn(GraphQLString),
      description: 'REST path that streams it (ranges)',
      resolve: (file) => `/api/v1/restores/${file.jobId}/files/${encodeURIComponent(file.path)}`,
    },
  },
});

const RestoreResult = new GraphQLObjectType<NonNullable<RestoreJob['result']> & { jobId: string }>({
  name: 'RestoreResult',
  fields: {
    files: { type: list(RestoredFile), resolve: (r) => r.files.map((f) => ({ ...f, jobId: r.jobId })) },
    bytes: { type: nn(GraphQLFloat) },
    verified: { type: nn(GraphQLBoolean) },
  },
});

/** The Restore type and its root fields; `Workflow` is the schema's workflow type (for the job's relation). */
export function restoreFields(Workflow: GraphQLObjectType<CatalogWorkflow>) {
  const Restore = new GraphQLObjectType<RestoreJob, RestoreContext>({
    name: 'Restore',
    description: 'A restore job (as GET /api/v1/restores/{id})',
    fields: {
      id: { type: nn(GraphQLID) },
      requestId: { type: nn(GraphQLString) },
      manifestId: { type: nn(GraphQLID) },
      namespace: { type: nn(GraphQLString) },
      workflowName: { type: nn(GraphQLString), resolve: (j) => j.workflow },
      workflow: {
        type: Workflow,
        description: 'the archived workflow, while the caller may list its namespace (else null)',
        resolve: (j, _a, ctx) => ctx.service.listedWorkflow(ctx.caller, j.manifestId).catch(() => null),
      },
      scope: { type: nn(RestoreScope) },
      target: { type: nn(RestoreTarget), resolve: (j) => targetOf(j) },
      bucket: { type: BucketRestore },
      requestedBy: { type: nn(GraphQLString) },
      createdAt: { type: nn(GraphQLString) },
      updatedAt: { type: nn(GraphQLString) },
      phase: { type: nn(RestorePhase) },
      progress: { type: nn(RestoreProgress) },
      result: {
        type: RestoreResult,
        description: 'once SUCCEEDED: every file hashed again on disk and equal to the manifest',
        resolve: (j) => (j.result ? { ...j.result, jobId: j.id } : null),
      },
      error: { type: GraphQLString },
      cancelledBy: { type: GraphQLString },
      argoWorkflow: { type: RestoreWorkflow },
    },
  });

  const RestoreScopeInput = new GraphQLInputObjectType({
    name: 'RestoreScopeInput',
    description: 'LOG needs nodeId (container defaults to main); ARTIFACT needs path; WORKFLOW neither',
    fields: {
      kind: { type: new GraphQLNonNull(RestoreKind) },
      nodeId: { type: GraphQLString },
      container: { type: GraphQLString },
      path: { type: GraphQLString },
    },
  });

  const RestoreTargetInput = new GraphQLInputObjectType({
    name: 'RestoreTargetInput',
    description:
      "BUCKET: the scope (the whole workflow, one log or artifact) back into its namespace's artifact repository (from the server's configuration)",
    fields: {
      kind: { type: new GraphQLNonNull(RestoreTargetKind) },
      overwrite: { type: GraphQLBoolean, description: 'BUCKET: replace objects that hold other bytes (default false)' },
    },
  });

  const RestoreInput = new GraphQLInputObjectType({
    name: 'RestoreInput',
    description: 'As the body of POST /api/v1/restores',
    fields: {
      requestId: {
        type: new GraphQLNonNull(GraphQLString),
        description: 'idempotency key: the same caller and id always get the same job',
      },
      manifestId: { type: new GraphQLNonNull(GraphQLID) },
      scope: { type: new GraphQLNonNull(RestoreScopeInput) },
      target: { type: RestoreTargetInput, description: 'default DOWNLOAD' },
    },
  });

  const RestoreStart = new GraphQLObjectType({
    name: 'RestoreStart',
    fields: {
      restore: { type: nn(Restore) },
      created: { type: nn(GraphQLBoolean), description: 'false when this requestId already had this job' },
    },
  });

  const query: GraphQLFieldConfigMap<unknown, RestoreContext> = {
    restores: {
      type: list(Restore),
      description: "The caller's restore jobs, newest first",
      resolve: (_r, _a, ctx) => jobs(ctx).list(ctx.caller),
    },
    restore: {
      type: Restore,
      description: 'One job: the caller’s own, or any in a namespace where they may restore',
      args: { id: { type: new GraphQLNonNull(GraphQLID) } },
      resolve: (_r, args: { id: string }, ctx) => {
        validate(jobId, args, 'argument');
        return jobs(ctx).get(ctx.caller, args.id);
      },
    },
  };

  const mutation: GraphQLFieldConfigMap<unknown, RestoreContext> = {
    startRestore: {
      type: nn(RestoreStart),
      description: 'Start a restore job (needs restore in the namespace); idempotent by requestId',
      args: { input: { type: new GraphQLNonNull(RestoreInput) } },
      resolve: async (
        _r,
        args: { input: { requestId: string; manifestId: string; scope: object; target?: object | null } },
        ctx,
      ) => {
        // GraphQL's nulls for absent optional fields → the REST body's absent ones, then the same schema.
        const present = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
        const { target, ...input } = args.input;
        const body = validate(
          restoreRequest,
          { ...input, scope: present(args.input.scope), ...(target && { target: present(target) }) },
          'input',
        );
        const { job, created } = await jobs(ctx).create(ctx.caller, body);
        return { restore: job, created };
      },
    },
    cancelRestore: {
      type: nn(Restore),
      description: 'Cancel a pending or running job (its partial files are removed)',
      args: { id: { type: new GraphQLNonNull(GraphQLID) } },
      resolve: (_r, args: { id: string }, ctx) => {
        validate(jobId, args, 'argument');
        return jobs(ctx).cancel(ctx.caller, args.id);
      },
    },
  };

  return { query, mutation };
}
