// Legal holds and retention extensions as API writes: the verified caller's act, authorized per namespace, written
// and audited by the same core the CLI uses (HoldRepository, syncHoldLocks, extensionApproval).
import type { AuditLog, AuditRecord } from '../../lib/audit/audit.ts';
import type { Catalog, CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import { AccessDeniedError, AuditError, AuditRefusal, describeError } from '../../lib/errors.ts';
import { extensionApproval } from '../../lib/holds/extension-approval.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { syncHoldLocks } from '../../lib/holds/store-locks.ts';
import type { ApprovalStore } from '../../lib/identity/approval.ts';
import type { ExtensionRecord, HoldRecord, HoldsAndExtensions } from '../../lib/policy/holds.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { HttpError } from '../api/errors.ts';
import type { ArchiveVerb, Authorizer, Caller } from '../auth/access.ts';

export interface HoldServiceDeps {
  catalog: Catalog;
  authorizer: Authorizer;
  audit: AuditLog;
  /** The archive's store: hold and extension records live beside the manifests. */
  store(): Promise<ObjectStore>;
  /** Where a second person's approvals are found (a cluster's); none: extensions past the limit are refused. */
  approvals?: () => Promise<ApprovalStore | undefined>;
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

type HoldAction = 'hold-set' | 'hold-release' | 'extend';

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

  /**
   * Keeps the workflow at least until `until`. Past the configured limit only with another person's approval of
   * exactly this request (`strata approve extend`); a refusal is audited.
   */
  async extend(
    caller: Caller,
    manifestId: string,
    input: { id: string; reason: string; until: Date },
  ): Promise<{ extension: ExtensionView; created: boolean }> {
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
    const approval = await asHttp(() =>
      extensionApproval(this.deps.approvals ?? (async () => undefined), audit, this.deps.extendApprovalBeyond, {
        workflow: row.uid,
        reason: input.reason,
        requester: caller.username,
        namespace: row.namespace,
        until: input.until,
        now,
      }),
    );
    const ext = await asHttp(() =>
      records.addExtension({
        workflowUid: row.uid,
        id: input.id,
        actor: caller.username,
        actorVerified: true,
        reason: input.reason,
        until: input.until,
        created: now,
        ...(approval && { approval }),
      }),
    );
    return { extension: extensionView(ext), created: true };
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
