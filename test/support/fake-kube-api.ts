// A FAKE Kubernetes API server for tests (node:http on 127.0.0.1): the paths Strata uses, bearer-token users and a
// small RBAC model for SelfSubjectReview / TokenReview / (Self)SubjectAccessReview, no real cluster.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { formatFieldError, invalidStatus, validateObjectMeta, type FieldError } from './kube-validation.ts';

type Json = Record<string, unknown>;

interface StoredEvent {
  rv: number;
  key: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

interface Watcher {
  key: string;
  namespace?: string;
  selector: string;
  res: ServerResponse;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  /** Who made the request (the token's user, or the default user without a token). */
  user?: string;
}

/** A create or update as admission sees it (the object after the change, the one before on update). */
export interface FakeAdmissionRequest {
  operation: 'CREATE' | 'UPDATE';
  namespace: string;
  /** Resource plural, e.g. `configmaps`, `workflows`. */
  resource: string;
  object: KubeObject;
  oldObject: KubeObject | null;
  user: FakeUser;
}

/** An admission check: a message denies the request (403, as a ValidatingAdmissionPolicy with reason Forbidden). */
export type FakeAdmission = (req: FakeAdmissionRequest) => string | undefined;

/** A user as the API server's authenticator gives it. */
export interface FakeUser {
  username: string;
  groups?: string[];
}

/**
 * One RBAC PolicyRule bound to a user or group: `resources` may name a subresource (`emergencydeletions/breakglass`)
 * and `*` matches anything, as in RBAC; `namespace` undefined is a ClusterRoleBinding (every namespace, and
 * requests without one), else a RoleBinding in that namespace.
 */
export interface FakeRule {
  subject: { user: string } | { group: string };
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  namespace?: string;
}

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

/** RBAC's matching, the part the fake needs: wildcards, subresources, resourceNames, namespaced bindings. */
export function rbacAllows(
  rules: readonly FakeRule[],
  user: FakeUser,
  attrs: ResourceAttributes,
): FakeRule | undefined {
  const groups = user.groups ?? [];
  if (groups.includes('system:masters'))
    return { subject: { group: 'system:masters' }, verbs: ['*'], apiGroups: ['*'], resources: ['*'] };
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : (attrs.resource ?? '');
  const has = (list: readonly string[], v: string) => list.includes('*') || list.includes(v);
  return rules.find(
    (r) =>
      ('user' in r.subject ? r.subject.user === user.username : groups.includes(r.subject.group)) &&
      (r.namespace === undefined || r.namespace === attrs.namespace) &&
      has(r.verbs, attrs.verb ?? '') &&
      has(r.apiGroups, attrs.group ?? '') &&
      has(r.resources, resource) &&
      (!r.resourceNames?.length || (attrs.name !== undefined && r.resourceNames.includes(attrs.name))),
  );
}

/** Where the real Argo Workflow objects live, or undefined when ../shared is absent (tests then skip). */
export function sharedWorkflowsDir(repoRoot = resolve(import.meta.dirname, '../..')): string | undefined {
  const dir = join(resolve(repoRoot, '../shared'), 'argo/workflows');
  return existsSync(dir) ? dir : undefined;
}

/** The real Workflow objects, with namespace/uid filled in where the Go fixtures left them out. */
export function loadSharedWorkflows(dir: string): { file: string; workflow: KubeObject }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const wf = parse(readFileSync(join(dir, file), 'utf8')) as KubeObject;
      wf.apiVersion ??= 'argoproj.io/v1alpha1';
      wf.kind ??= 'Workflow';
      wf.metadata.namespace ??= 'default';
      wf.metadata.uid ??= fakeUid(`${wf.metadata.namespace}/${wf.metadata.name}`);
      return { file, workflow: wf };
    });
}

export function fakeUid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** `group/version/plural`, with '' as the core group. */
function typeKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

const KIND_TYPES: Record<string, string> = {
  Workflow: 'argoproj.io/v1alpha1/workflows',
  Pod: '/v1/pods',
  ConfigMap: '/v1/configmaps',
  Job: 'batch/v1/jobs',
  CodeRun: 'agents.platform/v1/coderuns',
  DocsRun: 'agents.platform/v1/docsruns',
  ReviewRun: 'agents.platform/v1/reviewruns',
};

/** typeKey → Kind, for the Status messages the API server words with the kind. */
const TYPE_KINDS = Object.fromEntries(Object.entries(KIND_TYPES).map(([kind, key]) => [key, kind]));

/** Kind and group of a type key, e.g. `argoproj.io/v1alpha1/workflows` → Workflow, argoproj.io. */
function kindOf(key: string): { kind: string; group: string } {
  const group = key.split('/')[0]!;
  const plural = key.split('/')[2]!;
  return { kind: TYPE_KINDS[key] ?? plural, group };
}

/** What the real API server checks on every write of an object's metadata. */
function metadataErrors(obj: KubeObject): FieldError[] {
  return validateObjectMeta(obj.metadata);
}

const GENERATED_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Label selectors as the API server reads them: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`. */
export function matchesSelector(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const t = raw.trim();
    if (!t) return true;
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t))) {
      const set = m[3]!.split(',').map((s) => s.trim());
      const has = m[1]! in l && set.includes(l[m[1]!]!);
      return m[2] === 'in' ? has : !has;
    }
    if ((m = /^([^!=]+)!=(.*)$/.exec(t))) return l[m[1]!.trim()] !== m[2]!.trim();
    if ((m = /^([^!=]+)==?(.*)$/.exec(t))) return l[m[1]!.trim()] === m[2]!.trim();
    if (t.startsWith('!')) return !(t.slice(1) in l);
    return t in l;
  });
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Json =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeKubeApi {
  private server: Server | undefined;
  private rv = 1000;
  /** typeKey → "ns/name" → object */
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly events: StoredEvent[] = [];
  /** Events at or below this version were compacted: watching from before it answers 410. */
  private compactedThrough = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly logs = new Map<string, string>();
  private readonly failures: { method: string; pattern: RegExp; status: number; times: number }[] = [];
  readonly requests: FakeRequest[] = [];
  /** Bearer token → user. */
  private readonly tokens = new Map<string, FakeUser>();
  readonly rules: FakeRule[] = [];
  /** Admission checks run on every create, update and patch (none by default). */
  readonly admission: FakeAdmission[] = [];
  /** When set, objects created through the API get this creationTimestamp (the real server's clock), else the epoch. */
  clock: (() => Date) | undefined;
  /** Check every request against `rules` (RBAC), not only the reviews: a step then runs with just what it is granted. */
  enforceRbac = false;
  /** Who a request without a token is: an admin by default (as `kubectl proxy` with an admin kubeconfig). */
  defaultUser: FakeUser | undefined = { username: 'system:admin', groups: ['system:masters'] };
  url = '';

  /** A user the next requests can act as, by sending `Authorization: Bearer <token>`. */
  addUser(token: string, user: FakeUser): void {
    this.tokens.set(token, user);
  }

  /** Grants a rule (as a Role + RoleBinding in `rule.namespace`, or a ClusterRole + ClusterRoleBinding). */
  grant(rule: FakeRule): void {
    this.rules.push(rule);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.status(res, 500, String(err)));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.closeWatches();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Adds or replaces an object; the kind decides where it lives. Returns the stored copy. */
  put(obj: KubeObject): KubeObject {
    const key = KIND_TYPES[obj.kind ?? ''];
    if (!key) throw new Error(`fake kube api: unknown kind ${obj.kind}`);
    const ns = obj.metadata.namespace ?? 'default';
    const copy = structuredClone(obj);
    copy.metadata.namespace = ns;
    const errors = metadataErrors(copy);
    if (errors.length) {
      throw new Error(
        `fake kube api: ${obj.kind} ${obj.metadata.name} is invalid: ${errors.map(formatFieldError).join('; ')}`,
      );
    }
    copy.metadata.uid ??= fakeUid(`${key}/${ns}/${obj.metadata.name}`);
    const existed = this.bucket(key).has(`${ns}/${obj.metadata.name}`);
    this.store(key, copy, existed ? 'MODIFIED' : 'ADDED');
    return copy;
  }

  get(kind: string, namespace: string, name: string): KubeObject | undefined {
    const obj = this.bucket(KIND_TYPES[kind]!).get(`${namespace}/${name}`);
    return obj && structuredClone(obj);
  }

  /** Sets a container's log text. */
  setLog(namespace: string, pod: string, container: string, text: string): void {
    this.logs.set(`${namespace}/${pod}/${container}`, text);
  }

  /** Argo clearing its finalizers: a pending delete then completes. */
  clearFinalizers(namespace: string, name: string): void {
    const key = KIND_TYPES.Workflow!;
    const obj = this.bucket(key).get(`${namespace}/${name}`);
    if (!obj) return;
    obj.metadata.finalizers = [];
    if (obj.metadata.deletionTimestamp) this.remove(key, obj);
    else this.store(key, obj, 'MODIFIED');
  }

  /** Forgets history: watches from a version at or before the current one now get 410 Gone. */
  compact(): void {
    this.compactedThrough = this.rv;
    this.events.length = 0;
  }

  /** Makes the next `times` matching requests fail with `status`. */
  failNext(method: string, pattern: RegExp, status: number, times = 1): void {
    this.failures.push({ method, pattern, status, times });
  }

  /** Ends every open watch stream, as an API server does on timeout. */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(key: string): Map<string, KubeObject> {
    let b = this.objects.get(key);
    if (!b) this.objects.set(key, (b = new Map()));
    return b;
  }

  private store(key: string, obj: KubeObject, type: StoredEvent['type']): void {
    obj.metadata.resourceVersion = String(++this.rv);
    obj.metadata.creationTimestamp ??= new Date(0).toISOString();
    this.bucket(key).set(`${obj.metadata.namespace}/${obj.metadata.name}`, obj);
    this.emit({ rv: this.rv, key, type, object: structuredClone(obj) });
  }

  private remove(key: string, obj: KubeObject): void {
    this.bucket(key).delete(`${obj.metadata.namespace}/${obj.metadata.name}`);
    obj.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, key, type: 'DELETED', object: structuredClone(obj) });
  }

  private emit(ev: StoredEvent): void {
    this.events.push(ev);
    for (const w of this.watchers) this.send(w, ev);
  }

  private send(w: Watcher, ev: StoredEvent): void {
    if (ev.key !== w.key) return;
    if (w.namespace && ev.object.metadata.namespace !== w.namespace) return;
    if (!matchesSelector(ev.object.metadata.labels, w.selector)) return;
    w.res.write(JSON.stringify({ type: ev.type, object: ev.object }) + '\n');
  }

  private status(res: ServerResponse, code: number, message: string): void {
    if (res.headersSent) return void res.end();
    const reason = {
      404: 'NotFound',
      409: 'Conflict',
      410: 'Expired',
      400: 'BadRequest',
      401: 'Unauthorized',
      403: 'Forbidden',
      415: 'UnsupportedMediaType',
      422: 'Invalid',
    }[code];
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }));
  }

  /** 422 Invalid with the Status body the real API server sends, when the object's metadata breaks its rules. */
  private invalid(res: ServerResponse, key: string, obj: KubeObject): boolean {
    const errors = metadataErrors(obj);
    if (errors.length === 0) return false;
    const { kind, group } = kindOf(key);
    this.json(res, 422, invalidStatus(kind, group, obj.metadata.name ?? obj.metadata.generateName ?? '', errors));
    return true;
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async body(req: IncomingMessage): Promise<Json> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? (JSON.parse(text) as Json) : {};
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    const auth = req.headers.authorization;
    const user = auth?.startsWith('Bearer ') ? this.tokens.get(auth.slice(7)) : this.defaultUser;
    this.requests.push({
      method,
      path: url.pathname,
      query,
      contentType: req.headers['content-type'],
      user: user?.username,
    });
    if (!user) return this.status(res, 401, 'Unauthorized');
    const fail = this.failures.find((f) => f.method === method && f.pattern.test(url.pathname) && f.times > 0);
    if (fail) {
      fail.times--;
      return this.status(res, fail.status, `injected failure ${fail.status}`);
    }
    // /api/v1/... (core) or /apis/<group>/<version>/...
    const m =
      /^\/api\/(v1)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/(log))?$/.exec(url.pathname) ??
      /^\/apis\/([^/]+)\/([^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return this.status(res, 404, `the server could not find the requested resource ${url.pathname}`);
    const core = url.pathname.startsWith('/api/');
    const [group, version, namespace, plural, name, sub] = core
      ? ['', m[1]!, m[2], m[3]!, m[4], m[5]]
      : [m[1]!, m[2]!, m[3], m[4]!, m[5], undefined];
    const key = typeKey(group, version, plural);
    if (method === 'POST' && !name && (group === 'authentication.k8s.io' || group === 'authorization.k8s.io')) {
      return this.review(req, res, plural, user);
    }
    if (this.enforceRbac) {
      const verb =
        method === 'GET'
          ? name
            ? 'get'
            : query.watch === '1' || query.watch === 'true'
              ? 'watch'
              : 'list'
          : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method];
      const attrs = { namespace, verb, group, resource: plural, subresource: sub, name };
      if (!rbacAllows(this.rules, user, attrs)) {
        const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
        return this.status(
          res,
          403,
          `${plural}${sub ? `/${sub}` : ''}${name ? ` "${name}"` : ''} is forbidden: User "${user.username}" cannot ${verb} resource "${plural}" in API group "${group}"${where}`,
        );
      }
    }
    if (sub === 'log') return this.podLog(res, namespace!, name!, query.container);
    if (!name) {
      if (method === 'POST') return this.create(req, res, key, namespace!, user);
      if (query.watch === '1' || query.watch === 'true') return this.watch(req, res, key, namespace, query);
      return this.list(res, key, namespace, query);
    }
    const id = `${namespace}/${name}`;
    const obj = this.bucket(key).get(id);
    if (!obj) return this.status(res, 404, `${plural} "${name}" not found`);
    if (method === 'GET') return this.json(res, 200, obj);
    if (method === 'PATCH') return this.patch(req, res, key, obj, user);
    if (method === 'PUT') {
      const body = (await this.body(req)) as KubeObject;
      if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        return this.status(
          res,
          409,
          `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified`,
        );
      }
      const next = { ...body, metadata: { ...body.metadata, uid: obj.metadata.uid, namespace } } as KubeObject;
      if (this.invalid(res, key, next)) return;
      if (this.refused(res, key, 'UPDATE', next, obj, user)) return;
      this.store(key, next, 'MODIFIED');
      return this.json(res, 200, next);
    }
    if (method === 'DELETE') return this.delete(req, res, key, obj);
    return this.status(res, 405, `method ${method} not allowed`);
  }

  /** SelfSubjectReview, TokenReview, SelfSubjectAccessReview and SubjectAccessReview, from the tokens and rules. */
  private async review(req: IncomingMessage, res: ServerResponse, plural: string, user: FakeUser): Promise<void> {
    const body = await this.body(req);
    const answer = (status: Json) => this.json(res, 201, { ...body, status });
    if (plural === 'selfsubjectreviews') {
      return answer({ userInfo: { username: user.username, groups: user.groups ?? [] } });
    }
    if (plural === 'tokenreviews') {
      // Asking who a token is (a service authenticating its callers) is itself a permission (create tokenreviews).
      const may = rbacAllows(this.rules, user, {
        verb: 'create',
        group: 'authentication.k8s.io',
        resource: 'tokenreviews',
      });
      if (!may) return this.status(res, 403, `${user.username} cannot create tokenreviews`);
      const spec = (body.spec ?? {}) as { token?: string; audiences?: string[] };
      const who = spec.token ? this.tokens.get(spec.token) : undefined;
      return answer(
        who
          ? {
              authenticated: true,
              user: { username: who.username, groups: who.groups ?? [] },
              audiences: spec.audiences,
            }
          : { authenticated: false, error: 'invalid bearer token' },
      );
    }
    const spec = (body.spec ?? {}) as { resourceAttributes?: ResourceAttributes; user?: string; groups?: string[] };
    let subject = user;
    if (plural === 'subjectaccessreviews') {
      // Asking about someone else is itself a permission (create subjectaccessreviews).
      const may = rbacAllows(this.rules, user, {
        verb: 'create',
        group: 'authorization.k8s.io',
        resource: 'subjectaccessreviews',
      });
      if (!may) return this.status(res, 403, `${user.username} cannot create subjectaccessreviews`);
      subject = { username: spec.user ?? '', groups: spec.groups ?? [] };
    } else if (plural !== 'selfsubjectaccessreviews') {
      return this.status(res, 404, `the server could not find the requested resource ${plural}`);
    }
    const attrs = spec.resourceAttributes ?? {};
    const rule = rbacAllows(this.rules, subject, attrs);
    return answer(
      rule
        ? { allowed: true, reason: `allowed by rule for ${JSON.stringify(rule.subject)}` }
        : { allowed: false, reason: `no rule grants ${subject.username} ${attrs.verb} ${attrs.resource}` },
    );
  }

  private list(res: ServerResponse, key: string, namespace: string | undefined, q: Record<string, string>): void {
    const all = [...this.bucket(key).values()]
      .filter((o) => !namespace || o.metadata.namespace === namespace)
      .filter((o) => matchesSelector(o.metadata.labels, q.labelSelector))
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
      );
    let offset = 0;
    if (q.continue) {
      const token = JSON.parse(Buffer.from(q.continue, 'base64url').toString()) as { rv: number; offset: number };
      if (token.rv <= this.compactedThrough) {
        return this.status(res, 410, 'The provided continue parameter is too old to display a consistent list result.');
      }
      offset = token.offset;
    }
    const limit = q.limit ? Number(q.limit) : all.length;
    const items = all.slice(offset, offset + limit);
    const next =
      offset + limit < all.length
        ? Buffer.from(JSON.stringify({ rv: this.rv, offset: offset + limit })).toString('base64url')
        : undefined;
    this.json(res, 200, {
      apiVersion: 'v1',
      kind: 'List',
      metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) },
      items,
    });
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    namespace: string | undefined,
    q: Record<string, string>,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const w: Watcher = { key, namespace, selector: q.labelSelector ?? '', res };
    const from = q.resourceVersion ? Number(q.resourceVersion) : undefined;
    if (from !== undefined && from > 0 && from < this.compactedThrough) {
      // As the real API server: a 200 stream carrying one ERROR event with a 410 Status, then the end.
      const gone = {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
        message: `too old resource version: ${from} (${this.compactedThrough})`,
      };
      res.end(JSON.stringify({ type: 'ERROR', object: gone }) + '\n');
      return;
    }
    if (from === undefined || from === 0) {
      for (const obj of this.bucket(key).values()) this.send(w, { rv: 0, key, type: 'ADDED', object: obj });
    } else {
      for (const ev of this.events) if (ev.rv > from) this.send(w, ev);
    }
    this.watchers.add(w);
    req.on('close', () => this.watchers.delete(w));
  }

  private podLog(res: ServerResponse, namespace: string, pod: string, container: string | undefined): void {
    const obj = this.bucket('/v1/pods').get(`${namespace}/${pod}`);
    if (!obj) return this.status(res, 404, `pods "${pod}" not found`);
    const text = this.logs.get(`${namespace}/${pod}/${container ?? ''}`);
    if (text === undefined) {
      const spec = (obj.spec ?? {}) as { initContainers?: { name: string }[]; containers?: { name: string }[] };
      const names = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => c.name);
      if (!names.includes(container ?? '')) {
        return this.status(res, 400, `container ${container} is not valid for pod ${pod}`);
      }
      // As the real API server for a container that never started or whose log is gone: 204, no body.
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(text);
  }

  /**
   * Immutable ConfigMaps keep their data, then the admission checks: true when the request was answered with a
   * refusal.
   */
  private refused(
    res: ServerResponse,
    key: string,
    operation: 'CREATE' | 'UPDATE',
    object: KubeObject,
    oldObject: KubeObject | null,
    user: FakeUser,
  ): boolean {
    const [, , plural] = key.split('/');
    const name = object.metadata.name ?? '';
    const old = oldObject as (KubeObject & { immutable?: boolean; data?: unknown }) | null;
    const next = object as KubeObject & { immutable?: boolean; data?: unknown };
    if (old?.immutable && (JSON.stringify(old.data) !== JSON.stringify(next.data) || next.immutable !== true)) {
      this.status(
        res,
        422,
        `${kindOf(key).kind} "${name}" is invalid: data: Forbidden: field is immutable when \`immutable\` is set`,
      );
      return true;
    }
    const namespace = object.metadata.namespace ?? '';
    for (const admit of this.admission) {
      const denied = admit({ operation, namespace, resource: plural!, object, oldObject, user });
      if (denied) {
        this.status(res, 403, `${plural} "${name}" is forbidden: ${denied}`);
        return true;
      }
    }
    return false;
  }

  private async create(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    namespace: string,
    user: FakeUser,
  ): Promise<void> {
    const body = (await this.body(req)) as KubeObject;
    body.metadata ??= {} as KubeObject['metadata'];
    if (body.metadata.resourceVersion) {
      return this.status(res, 400, 'resourceVersion should not be set on objects to be created');
    }
    if (!body.metadata.name && typeof body.metadata.generateName === 'string' && body.metadata.generateName) {
      body.metadata.name = this.generateName(key, namespace, body.metadata.generateName);
    }
    if (this.invalid(res, key, body)) return;
    const id = `${namespace}/${body.metadata.name}`;
    if (this.bucket(key).has(id)) {
      const [group, , plural] = key.split('/');
      return this.status(res, 409, `${group ? `${plural}.${group}` : plural} "${body.metadata.name}" already exists`);
    }
    body.metadata.namespace = namespace;
    if (this.clock) body.metadata.creationTimestamp = this.clock().toISOString();
    if (this.refused(res, key, 'CREATE', body, null, user)) return;
    body.metadata.uid = fakeUid(`${key}/${id}/${this.rv}`);
    this.store(key, body, 'ADDED');
    this.json(res, 201, body);
  }

  /** As the API server: the prefix (cut to 58 characters) plus five random characters. */
  private generateName(key: string, namespace: string, prefix: string): string {
    for (;;) {
      let name = prefix.slice(0, 58);
      for (let i = 0; i < 5; i++) name += GENERATED_CHARS[Math.floor(Math.random() * GENERATED_CHARS.length)];
      if (!this.bucket(key).has(`${namespace}/${name}`)) return name;
    }
  }

  private async patch(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    obj: KubeObject,
    user: FakeUser,
  ): Promise<void> {
    if (req.headers['content-type'] !== 'application/merge-patch+json') {
      return this.status(res, 415, `fake supports merge-patch only, got ${req.headers['content-type']}`);
    }
    const patch = await this.body(req);
    const uid = (patch.metadata as Json | undefined)?.uid;
    if (uid !== undefined && uid !== obj.metadata.uid) {
      return this.status(
        res,
        409,
        `Precondition failed: UID in precondition: ${String(uid)}, UID in object meta: ${obj.metadata.uid}`,
      );
    }
    const next = mergePatch(obj, patch) as KubeObject;
    if (this.invalid(res, key, next)) return;
    if (this.refused(res, key, 'UPDATE', next, obj, user)) return;
    this.store(key, next, 'MODIFIED');
    this.json(res, 200, next);
  }

  private async delete(req: IncomingMessage, res: ServerResponse, key: string, obj: KubeObject): Promise<void> {
    const body = await this.body(req);
    const uid = (body.preconditions as Json | undefined)?.uid;
    if (uid !== undefined && uid !== obj.metadata.uid) {
      return this.status(
        res,
        409,
        `Precondition failed: UID in precondition: ${String(uid)}, UID in object meta: ${obj.metadata.uid}`,
      );
    }
    if ((obj.metadata.finalizers?.length ?? 0) > 0) {
      // Finalizers keep the object; it is only marked (the controller that owns them removes it later).
      obj.metadata.deletionTimestamp ??= new Date().toISOString();
      this.store(key, obj, 'MODIFIED');
      return this.json(res, 200, obj);
    }
    this.remove(key, obj);
    this.json(res, 200, obj);
  }
}
