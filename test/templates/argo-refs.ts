// Checks Argo template references: every {{inputs/workflow/tasks/steps/item}} reference and every template name resolves.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const names = (list: unknown): string[] => (Array.isArray(list) ? list.filter(isObj).map((p) => String(p.name)) : []);

/** Variables Argo provides itself (https://argo-workflows.readthedocs.io/en/latest/variables/). */
const BUILTIN =
  /^(workflow\.(name|namespace|uid|serviceAccountName|creationTimestamp.*|status|duration|labels\..+|annotations\..+|mainEntrypoint)|pod\.name|node\.name|retries|inputs\.artifacts\..+|outputs\..+)$/;

function strings(v: unknown, path: string, out: { path: string; text: string }[]): void {
  if (typeof v === 'string') out.push({ path, text: v });
  else if (Array.isArray(v)) v.forEach((x, i) => strings(x, `${path}[${i}]`, out));
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) strings(x, `${path}.${k}`, out);
}

/** Problems in one workflow spec (WorkflowTemplate.spec or CronWorkflow.spec.workflowSpec). */
export function checkWorkflowSpec(spec: Obj, where: string, referenced?: Obj): string[] {
  const problems: string[] = [];
  const args = isObj(spec.arguments) ? spec.arguments : {};
  const templateArgs = referenced && isObj(referenced.arguments) ? names(referenced.arguments.parameters) : [];
  const workflowParams = new Set([...names(args.parameters), ...templateArgs]);
  const templates = Array.isArray(spec.templates)
    ? spec.templates.filter(isObj)
    : referenced && Array.isArray(referenced.templates)
      ? referenced.templates.filter(isObj)
      : [];
  const byName = new Map(templates.map((t) => [String(t.name), t]));
  const ownTemplates = Array.isArray(spec.templates) ? spec.templates.filter(isObj) : [];
  if (spec.entrypoint && !byName.has(String(spec.entrypoint)))
    problems.push(`${where}: entrypoint "${String(spec.entrypoint)}" is not a template`);
  const outputsOf = (templateName: string) => {
    const t = byName.get(templateName);
    return new Set(isObj(t?.outputs) ? names(t.outputs.parameters) : []);
  };
  const check = (
    text: string,
    at: string,
    scope: { inputs: Set<string>; tasks?: Map<string, Obj>; item?: boolean; outputs?: Set<string> },
  ) => {
    for (const m of text.matchAll(/\{\{\s*([^}]+?)\s*\}\}/g)) {
      const ref = m[1]!;
      let r: RegExpExecArray | null;
      if ((r = /^inputs\.parameters\.([\w-]+)$/.exec(ref))) {
        if (!scope.inputs.has(r[1]!))
          problems.push(`${at}: {{${ref}}} but the template declares no input parameter "${r[1]}"`);
      } else if ((r = /^workflow\.parameters\.([\w-]+)$/.exec(ref))) {
        if (!workflowParams.has(r[1]!))
          problems.push(`${at}: {{${ref}}} but spec.arguments declares no parameter "${r[1]}"`);
      } else if ((r = /^(tasks|steps)\.([\w-]+)\.outputs\.parameters\.([\w-]+)$/.exec(ref))) {
        const task = scope.tasks?.get(r[2]!);
        if (!task) problems.push(`${at}: {{${ref}}} but there is no ${r[1]} "${r[2]}" here`);
        else if (!outputsOf(String(task.template)).has(r[3]!))
          problems.push(`${at}: {{${ref}}} but template "${String(task.template)}" has no output parameter "${r[3]}"`);
      } else if ((r = /^outputs\.parameters\.([\w-]+)$/.exec(ref)) && scope.outputs) {
        // A template's own outputs (its metrics read them): the parameter must be declared there.
        if (!scope.outputs.has(r[1]!))
          problems.push(`${at}: {{${ref}}} but the template declares no output parameter "${r[1]}"`);
      } else if (/^item(\.[\w-]+)?$/.test(ref)) {
        if (!scope.item) problems.push(`${at}: {{${ref}}} outside a withParam/withItems task`);
      } else if (!BUILTIN.test(ref)) {
        problems.push(`${at}: {{${ref}}} is not a reference this check knows`);
      }
    }
  };
  // Workflow-level strings (arguments, hooks) may use workflow.* only.
  for (const s of ((): { path: string; text: string }[] => {
    const out: { path: string; text: string }[] = [];
    strings({ ...spec, templates: undefined }, where, out);
    return out;
  })())
    check(s.text, s.path, { inputs: new Set() });
  for (const t of ownTemplates) {
    const at = `${where} template "${String(t.name)}"`;
    const inputs = new Set(isObj(t.inputs) ? names(t.inputs.parameters) : []);
    const tasks = new Map<string, Obj>();
    const dag = isObj(t.dag) && Array.isArray(t.dag.tasks) ? t.dag.tasks.filter(isObj) : [];
    const steps = Array.isArray(t.steps) ? (t.steps.flat() as unknown[]).filter(isObj) : [];
    for (const task of [...dag, ...steps]) tasks.set(String(task.name), task);
    for (const task of [...dag, ...steps]) {
      const tat = `${at} task "${String(task.name)}"`;
      if (!byName.has(String(task.template)))
        problems.push(`${tat}: template "${String(task.template)}" does not exist`);
      const callee = byName.get(String(task.template));
      const wanted = new Set(isObj(callee?.inputs) ? names(callee.inputs.parameters) : []);
      const given = isObj(task.arguments) ? names(task.arguments.parameters) : [];
      for (const w of wanted) {
        const declared =
          isObj(callee?.inputs) && Array.isArray(callee.inputs.parameters)
            ? callee.inputs.parameters.find((p) => isObj(p) && p.name === w)
            : undefined;
        if (!given.includes(w) && !(isObj(declared) && 'value' in declared))
          problems.push(`${tat}: template "${String(task.template)}" needs parameter "${w}"`);
      }
      for (const g of given)
        if (!wanted.has(g))
          problems.push(`${tat}: passes parameter "${g}" that template "${String(task.template)}" does not declare`);
      const out: { path: string; text: string }[] = [];
      strings(task, tat, out);
      for (const s of out) check(s.text, s.path, { inputs, tasks, item: 'withParam' in task || 'withItems' in task });
    }
    const out: { path: string; text: string }[] = [];
    strings({ ...t, dag: undefined, steps: undefined }, at, out);
    const outputs = new Set(isObj(t.outputs) ? names(t.outputs.parameters) : []);
    for (const s of out) check(s.text, s.path, { inputs, tasks, outputs });
  }
  return problems;
}

/** What an event binding's expressions see: https://argo-workflows.readthedocs.io/en/latest/events/. */
const EVENT_ROOTS = new Set(['payload', 'namespace', 'discriminator', 'metadata']);
const EXPR_WORDS = new Set(['true', 'false', 'nil', 'and', 'or', 'not', 'in', 'matches', 'contains']);

/**
 * Names an event expression uses that Argo's event environment does not define. Argo evaluates a binding's selector,
 * `valueFrom.event` and every `submit.metadata` name, label and annotation as an expression: a plain word there is
 * a variable, and an undefined one fails every event (`unknown name`).
 */
export function unknownEventNames(expression: string): string[] {
  const code = expression.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const unknown = new Set<string>();
  for (const m of code.matchAll(/(?<![.\w])([A-Za-z_]\w*)(?!\s*\()/g)) {
    const name = m[1]!;
    if (!EVENT_ROOTS.has(name) && !EXPR_WORDS.has(name)) unknown.add(name);
  }
  return [...unknown];
}

/** Problems in a WorkflowEventBinding's expressions (selector, parameters, submitted metadata). */
export function checkEventBinding(spec: Obj, where: string): string[] {
  const problems: string[] = [];
  const check = (text: unknown, at: string) => {
    if (typeof text !== 'string') return;
    for (const name of unknownEventNames(text))
      problems.push(`${where}: ${at} is an expression and "${name}" is undefined there (quote a literal: '"${name}"')`);
  };
  const event = isObj(spec.event) ? spec.event : {};
  check(event.selector, 'event.selector');
  const submit = isObj(spec.submit) ? spec.submit : {};
  const metadata = isObj(submit.metadata) ? submit.metadata : {};
  check(metadata.name, 'submit.metadata.name');
  check(metadata.generateName, 'submit.metadata.generateName');
  for (const kind of ['labels', 'annotations'] as const) {
    const values = isObj(metadata[kind]) ? metadata[kind] : {};
    for (const [k, v] of Object.entries(values)) check(v, `submit.metadata.${kind}.${k}`);
  }
  const args = isObj(submit.arguments) ? submit.arguments : {};
  for (const p of Array.isArray(args.parameters) ? args.parameters.filter(isObj) : []) {
    const from = isObj(p.valueFrom) ? p.valueFrom : {};
    check(from.event, `parameter ${String(p.name)}`);
  }
  return problems;
}
