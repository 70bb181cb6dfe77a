// Legal holds and retention extensions as API writes: the verified caller's act, authorized per namespace, written
// and audited by the same core the CLI uses (HoldRepository, syncHoldLocks, extensionApproval).
import type { AuditLog, AuditRecord } from '../../lib/audit/audit.ts';
import type { Catalog, CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import { AccessDeniedError, AuditError, AuditRefusal, describeError } from '../../lib/errors.ts';
import { checkExtensionApproval } from '../../lib/holds/extension-approval.ts';
import {
  ExtensionRequests,
  type ExtensionRequestRecord,
  type StoredRequest,
} from '../../lib/holds/extension-requests.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { syncHoldLocks } from '../../lib/holds/store-locks.ts';
import { samePerson, type ApprovalStore, type ApprovalSubject } from '../../lib/identity/approval.ts';
import type { ExtensionRecord, HoldRecord, HoldsAndExtensions } from '../../lib/policy/holds.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { HttpError } from '../api/errors.ts';
import type { ArchiveVerb, Authorizer, Caller } from '../auth/access.ts';
import { approvalBy } from './approver-act.ts';

export interface HoldServiceDeps {
  catalog: Catalog;
  authorizer: Authorizer;
  audit: AuditLog;
  /** The archive's store: hold and extension records live beside the manifests. */
  store(): Promise<ObjectStore>;
  /** Where a second person's approvals are found (a cluster's, or the archive store's in embedded mode). */
  approvals: () => Promise<ApprovalStore | undefined>;
  /**
   * Where `approver`'s approval is created as their own act: on a cluster with their own token (admission pins the
   * approver to it); in embedded mode the store above, the approver being the caller the server verified.
   */
  approvalsAs: (approver: Caller) => Promise<ApprovalStore>;
  /** Configuration extendApprovalBeyond: an extension further than this from now needs an approval. */
  extendApprovalBeyond: string;
  now?: () => Date;
}

export type HoldView = Omit<HoldRecord, 'workflowUid'>;
export type ExtensionView = Omit<ExtensionRecord, 'workflowUid'>;

export interface HoldWrite {
  hold: HoldView;
  storeLocks: string;
}

const holdView = ({ workflowUid: _u, ...h }: HoldRecord): HoldView => (void _u, h);
const extensionView = ({ workflowUid: _u, ...e }: ExtensionRecord): ExtensionView => (void _u, e);

type HoldAction = 'hold-set' | 'hold-release' | 'extend' | 'approve' | 'reject';

export type RequestState = 'pending' | 'approved' | 'rejected';

/** An extension asked for past the limit, as the API shows it. */
export interface ExtensionRequestView extends ExtensionRequestRecord {
  state: RequestState;
  /** Pending: what it waits for. */
  needs?: string;
  approver?: string;
  rejection?: { by: string; reason: string; at: string };
}

function requestView(
  stored: StoredRequest,
  extension: ExtensionRecord | undefined,
  needs?: string,
): ExtensionRequestView {
  const { request: r, rejection } = stored;
  const state: RequestState = extension ? 'approved' : rejection ? 'rejected' : 'pending';
  return {
    id: r.id,
    workflowUid: r.workflowUid,
    namespace: r.namespace,
    manifestId: r.manifestId,
    requester: r.requester,
    reason: r.reason,
    until: r.until,
    created: r.created,
    state,
    ...(state === 'pending' && needs && { needs }),
    ...(extension?.approval && { approver: extension.approval.approver }),
    ...(rejection &&
      state === 'rejected' && { rejection: { by: rejection.by, reason: rejection.reason, at: rejection.at } }),
  };
}

/** The caller's verified identity on every record the core writes for them (who vouched, which groups). */
function callerAudit(audit: AuditLog, caller: Caller): AuditLog {
  return {
    record: (entry: AuditRecord) =>
      audit.record({
        ...entry,
        details: { ...entry.details, authenticatedBy: caller.via, groups: caller.groups },
      }),
  };
}

/** Audit failures as the API answers them: nothing done (503), or done but not closed on the record (503 too). */
async function asHttp<T>(act: () => Promise<T>): Promise<T> {
  try {
    return await act();
  } catch (err) {
    if (err instanceof AuditRefusal) throw new HttpError(503, `${err.message}: nothing was changed`);
    if (err instanceof AuditError)
      throw new HttpError(503, `the change is made but its audit record could not be closed: ${describeError(err)}`);
    if (err instanceof AccessDeniedError) throw new HttpError(403, err.message);
    throw err;
  }
}

export class HoldService {
  private readonly now: () => Date;

  constructor(private readonly deps: HoldServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private async records(caller?: Caller): Promise<HoldRepository> {
    const store = await this.deps.store();
    return new HoldRepository(store, caller ? callerAudit(this.deps.audit, caller) : this.deps.audit);
  }

  /**
   * The workflow a caller may `verb`. Refused: 403 (audited) when they may see the workflow otherwise, else the
   * same 404 as a workflow that does not exist (never a hint of another tenant's data).
   */
  private async target(
    caller: Caller,
    manifestId: string,
    verb: ArchiveVerb,
    action: HoldAction,
  ): Promise<CatalogWorkflow> {
    const row = (await this.deps.catalog.get(manifestId)).find((w) => w.manifestId === manifestId);
    const notFound = new HttpError(404, `no archived workflow with manifest id ${manifestId}`);
    if (!row) throw notFound;
    if (await this.deps.authorizer.allows(caller, verb, row.namespace)) return row;
    const sees =
      (await this.deps.authorizer.allows(caller, 'get', row.namespace)) ||
      (await this.deps.authorizer.allows(caller, 'list', row.namespace));
    const message = `${caller.username} may not ${verb} archives in namespace ${row.namespace}`;
    try {
      await this.deps.audit.record({
        action,
        actor: caller.username,
        verified: true,
        subject: row.uid,
        outcome: 'refused',
        reason: message,
        details: { manifestId, authenticatedBy: caller.via, groups: caller.groups },
      });
    } catch (err) {
      throw new HttpError(503, `cannot record the audit entry of this refusal: ${describeError(err)}`);
    }
    throw sees ? new HttpError(403, message) : notFound;
  }

  /** A workflow's holds (released ones too) and extensions, for a caller already allowed to `get` it. */
  async recordsOf(workflowUid: string): Promise<HoldsAndExtensions> {
    return (await this.records()).forWorkflow(workflowUid);
  }

  async forWorkflow(workflowUid: string): Promise<{ holds: HoldView[]; extensions: ExtensionView[] }> {
    const { holds, extensions } = await this.recordsOf(workflowUid);
    return { holds: holds.map(holdView), extensions: extensions.map(extensionView) };
  }

  /** Places hold `id` (the client's idempotency key) on the manifest's workflow, then locks its objects in the store. */
  /** `created` is false when the same caller sent the same request before: nothing new was written. */
  async setHold(
    caller: Caller,
    manifestId: string,
    input: { id: string; reason: string },
  ): Promise<HoldWrite & { created: boolean }> {
    const row = await this.target(caller, manifestId, 'hold', 'hold-set');
    const records = await this.records(caller);
    const existing = (await records.listHolds(row.uid)).find((h) => h.id === input.id);
    if (existing && (existing.actor !== caller.username || existing.reason !== input.reason))
      throw new HttpError(409, `hold ${input.id} of workflow ${row.uid} already exists, set by ${existing.actor}`);
    const now = this.now();
    const hold =
      existing ??
      (await asHttp(() =>
        records.setHold({
          workflowUid: row.uid,
          id: input.id,
          actor: caller.username,
          actorVerified: true,
          reason: input.reason,
          created: now,
        }),
      ));
    return { hold: holdView(hold), created: !existing, storeLocks: await this.locked(now) };
  }

  /** Writes hold `holdId`'s release (the hold record stays as history); the store's lock goes with the last hold. */
  async releaseHold(caller: Caller, manifestId: string, holdId: string, input: { reason: string }): Promise<HoldWrite> {
    const row = await this.target(caller, manifestId, 'release-hold', 'hold-release');
    const records = await this.records(caller);
    const existing = (await records.listHolds(row.uid)).find((h) => h.id === holdId);
    if (!existing) throw new HttpError(404, `workflow ${row.namespace}/${row.name} has no hold ${holdId}`);
    const released = existing.released;
    if (released && (released.actor !== caller.username || released.reason !== input.reason))
      throw new HttpError(409, `hold ${holdId} was already released by ${released.actor} at ${released.at}`);
    const now = this.now();
    const hold = released
      ? existing
      : await asHttp(() =>
          records.releaseHold({
            workflowUid: row.uid,
            id: holdId,
            actor: caller.username,
            actorVerified: true,
            reason: input.reason,
            at: now,
          }),
        );
    return { hold: holdView(hold), storeLocks: await this.locked(now) };
  }

  private async requests(audit: AuditLog): Promise<ExtensionRequests> {
    return new ExtensionRequests(await this.deps.store(), audit);
  }

  /**
   * Keeps the workflow at least until `until`. Past the configured limit only with another person's approval of
   * exactly this request: when there is none yet the request is recorded as pending (`pending`, 202) for an
   * approver to approve (approveExtension) or a `strata approve extend` on the cluster, after which the same call
   * writes the extension.
   */
  async extend(
    caller: Caller,
    manifestId: string,
    input: { id: string; reason: string; until: Date },
  ): Promise<{ extension?: ExtensionView; pending?: ExtensionRequestView; created: boolean }> {
    const row = await this.target(caller, manifestId, 'extend', 'extend');
    const records = await this.records(caller);
    const now = this.now();
    const existing = (await records.listExtensions(row.uid)).find((e) => e.id === input.id);
    if (existing) {
      if (existing.actor !== caller.username || new Date(existing.until).getTime() !== input.until.getTime())
        throw new HttpError(409, `extension ${input.id} of workflow ${row.uid} already exists, by ${existing.actor}`);
      return { extension: extensionView(existing), created: false };
    }
    if (input.until <= now)
      throw new HttpError(
        400,
        `until ${input.until.toISOString()} is not in the future: an extension adds time`,
        'until',
      );
    const audit = callerAudit(this.deps.audit, caller);
    const requests = await this.requests(audit);
    const asked = await requests.get(row.uid, input.id);
    const { request: prior } = asked ?? {};
    if (
      prior &&
      (prior.requester !== caller.username ||
        prior.until !== input.until.toISOString() ||
        prior.reason !== input.reason)
    )
      throw new HttpError(
        409,
        `extension request ${input.id} of workflow ${row.uid} already exists, by ${prior.requester}`,
      );
    if (asked?.rejection) return { pending: requestView(asked, undefined), created: false };
    const check = await asHttp(() =>
      checkExtensionApproval(this.deps.approvals, this.deps.extendApprovalBeyond, {
        workflow: row.uid,
        reason: input.reason,
        requester: caller.username,
        namespace: row.namespace,
        until: input.until,
        now,
      }),
    );
    if (check.needed && !check.approval) {
      const { request, created } = await asHttp(() =>
        requests.request({
          id: input.id,
          workflowUid: row.uid,
          namespace: row.namespace,
          manifestId: row.manifestId,
          requester: caller.username,
          reason: input.reason,
          until: input.until.toISOString(),
          created: now.toISOString(),
        }),
      );
      return { pending: requestView({ request }, undefined, check.message), created };
    }
    const ext = await asHttp(() =>
      records.addExtension({
        workflowUid: row.uid,
        id: input.id,
        actor: caller.username,
        actorVerified: true,
        reason: input.reason,
        until: input.until,
        created: now,
        ...(check.needed && { approval: check.approval }),
      }),
    );
    return { extension: extensionView(ext), created: true };
  }

  /** The request `id` of the workflow and the extension written for it, or 404. */
  private async pendingRequest(
    row: CatalogWorkflow,
    id: string,
  ): Promise<{ stored: StoredRequest; extension?: ExtensionRecord }> {
    const stored = await (await this.requests(this.deps.audit)).get(row.uid, id);
    if (!stored) throw new HttpError(404, `workflow ${row.namespace}/${row.name} has no extension request ${id}`);
    const extension = (await (await this.records()).listExtensions(row.uid)).find((e) => e.id === id);
    return { stored, ...(extension && { extension }) };
  }

  /** A refusal of an approver's act, audited before the 403. */
  private async refuse(caller: Caller, action: 'approve' | 'reject', uid: string, id: string, message: string) {
    try {
      await callerAudit(this.deps.audit, caller).record({
        action,
        actor: caller.username,
        verified: true,
        subject: uid,
        outcome: 'refused',
        reason: message,
        details: { extension: id },
      });
    } catch (err) {
      throw new HttpError(503, `cannot record the audit entry of this refusal: ${describeError(err)}`);
    }
    return new HttpError(403, message);
  }

  /**
   * The caller approves extension request `id` as the second person: their approval is created where approvals
   * live (on a cluster as themselves; admission checks it again), found there by the core's own rule (findApproval's
   * approvalProblem), and the extension written with it, as the requester's. Approving again is a 200 with the same
   * extension; the requester approving their own request is a 403, audited.
   */
  async approveExtension(
    caller: Caller,
    manifestId: string,
    id: string,
  ): Promise<{ extension: ExtensionView; created: boolean }> {
    const row = await this.target(caller, manifestId, 'approve', 'approve');
    const { stored, extension } = await this.pendingRequest(row, id);
    const r = stored.request;
    if (extension) {
      if (extension.approval && samePerson(extension.approval.approver, caller.username))
        return { extension: extensionView(extension), created: false };
      throw new HttpError(
        409,
        `extension ${id} of workflow ${row.uid} is already ${extension.approval ? `approved by ${extension.approval.approver}` : 'in force'}`,
      );
    }
    if (stored.rejection)
      throw new HttpError(
        409,
        `extension request ${id} was rejected by ${stored.rejection.by} at ${stored.rejection.at}`,
      );
    if (samePerson(caller.username, r.requester))
      throw await this.refuse(
        caller,
        'approve',
        row.uid,
        id,
        `${caller.username} requested extension ${id}: another person approves it`,
      );
    const now = this.now();
    const until = new Date(r.until);
    const subject: ApprovalSubject & { namespace: string; until: Date } = {
      action: 'extend',
      workflow: row.uid,
      reason: r.reason,
      requester: r.requester,
      namespace: row.namespace,
      until,
    };
    const lookup = await this.deps.approvals();
    if (!lookup) throw new HttpError(503, 'this server has no approval store');
    const found = await asHttp(() =>
      approvalBy(
        caller.username,
        subject,
        { lookup, createAs: () => this.deps.approvalsAs(caller), audit: callerAudit(this.deps.audit, caller) },
        now,
        { approves: 'extend', extension: id, requester: r.requester, until: r.until, namespace: row.namespace },
      ),
    );
    const ext = await asHttp(async () =>
      (await this.records(caller)).addExtension({
        workflowUid: row.uid,
        id,
        actor: r.requester,
        actorVerified: true,
        reason: r.reason,
        until,
        created: now,
        approval: { name: found.name, approver: found.approver },
      }),
    );
    return { extension: extensionView(ext), created: true };
  }

  /** Turns extension request `id` down for good (anyone who may approve in the namespace); audited, idempotent. */
  async rejectExtension(
    caller: Caller,
    manifestId: string,
    id: string,
    input: { reason: string },
  ): Promise<ExtensionRequestView> {
    const row = await this.target(caller, manifestId, 'approve', 'reject');
    const { stored, extension } = await this.pendingRequest(row, id);
    if (extension) throw new HttpError(409, `extension request ${id} is already approved`);
    const prior = stored.rejection;
    if (prior && (prior.by !== caller.username || prior.reason !== input.reason))
      throw new HttpError(409, `extension request ${id} was already rejected by ${prior.by} at ${prior.at}`);
    const rejection =
      prior ??
      (await asHttp(async () =>
        (await this.requests(callerAudit(this.deps.audit, caller))).reject(row.uid, id, {
          by: caller.username,
          byVerified: true,
          reason: input.reason,
          at: this.now().toISOString(),
        }),
      ));
    return requestView({ ...stored, rejection }, undefined);
  }

  /**
   * The pending extension requests of the namespaces the caller may approve in (each request's namespace taken from
   * the catalog row of its archive, not from the request record), oldest first. `namespaces` narrows it; one the
   * caller may not approve in is a 403.
   */
  async pendingApprovals(caller: Caller, namespaces?: readonly string[]): Promise<ExtensionRequestView[]> {
    for (const ns of namespaces ?? [])
      if (!(await this.deps.authorizer.allows(caller, 'approve', ns)))
        throw new HttpError(403, `${caller.username} may not approve in namespace ${ns}`);
    const allowed = new Map<string, boolean>();
    const out: ExtensionRequestView[] = [];
    const records = await this.records();
    for (const stored of await (await this.requests(this.deps.audit)).list()) {
      if (stored.rejection) continue;
      const r = stored.request;
      const row = (await this.deps.catalog.get(r.manifestId)).find((w) => w.manifestId === r.manifestId);
      if (!row || row.uid !== r.workflowUid) continue;
      if (namespaces && !namespaces.includes(row.namespace)) continue;
      if (!allowed.has(row.namespace))
        allowed.set(row.namespace, await this.deps.authorizer.allows(caller, 'approve', row.namespace));
      if (!allowed.get(row.namespace)) continue;
      if ((await records.listExtensions(r.workflowUid)).some((e) => e.id === r.id)) continue;
      out.push(requestView({ request: { ...r, namespace: row.namespace } }, undefined));
    }
    return out.sort((a, b) => a.created.localeCompare(b.created));
  }

  /** The store's locks brought in line; a store that did not lock is a 502 (the record is written and holds). */
  private async locked(now: Date): Promise<string> {
    const { storeLocks, problems } = await syncHoldLocks(await this.deps.store(), now);
    if (problems.length)
      throw new HttpError(
        502,
        `the hold record is written, but the store did not lock: ${problems.join('; ')} (retrying is safe)`,
      );
    return storeLocks;
  }
}
