// The object-metadata rules of the real kube-apiserver (apimachinery validation), for the fake API server and checks.
// Mirrors k8s.io/apimachinery pkg/util/validation and pkg/api/validation/objectmeta.go: names, label and annotation
// keys and values, finalizers, the 256 KiB annotation limit, and the 422 Invalid Status the server answers with.

export type FieldErrorType = 'Invalid' | 'Required' | 'TooLong' | 'Forbidden';

export interface FieldError {
  type: FieldErrorType;
  /** e.g. `metadata.labels` */
  field: string;
  value?: unknown;
  detail: string;
}

const QUALIFIED_NAME_MAX = 63;
const LABEL_VALUE_MAX = 63;
const DNS1123_SUBDOMAIN_MAX = 253;
const DNS1123_LABEL_MAX = 63;
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and " +
  "end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is " +
  "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start " +
  "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end " +
  "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

const tooLong = (max: number) => `must be no more than ${max} characters`;

export function isDns1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) errs.push(tooLong(DNS1123_SUBDOMAIN_MAX));
  if (!DNS1123_SUBDOMAIN.test(value)) errs.push(DNS1123_SUBDOMAIN_MSG);
  return errs;
}

export function isDns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_MAX) errs.push(tooLong(DNS1123_LABEL_MAX));
  if (!DNS1123_LABEL.test(value)) errs.push(DNS1123_LABEL_MSG);
  return errs;
}

/** A label key, annotation key or finalizer: `[prefix/]name`, the prefix a DNS subdomain. */
export function isQualifiedName(value: string): string[] {
  const parts = value.split('/');
  let name = value;
  const errs: string[] = [];
  if (parts.length === 2) {
    const [prefix, rest] = parts as [string, string];
    name = rest;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else if (parts.length > 2) {
    return [
      `a qualified name ${QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > QUALIFIED_NAME_MAX) errs.push(`name part ${tooLong(QUALIFIED_NAME_MAX)}`);
  if (!QUALIFIED_NAME.test(name)) errs.push(`name part ${QUALIFIED_NAME_MSG}`);
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > LABEL_VALUE_MAX) errs.push(tooLong(LABEL_VALUE_MAX));
  if (!LABEL_VALUE.test(value)) errs.push(LABEL_VALUE_MSG);
  return errs;
}

function stringMap(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function validateLabels(labels: unknown, field = 'metadata.labels'): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(stringMap(labels))) {
    for (const detail of isQualifiedName(k)) errs.push({ type: 'Invalid', field, value: k, detail });
    if (typeof v !== 'string') errs.push({ type: 'Invalid', field, value: v, detail: 'must be a string' });
    else for (const detail of isValidLabelValue(v)) errs.push({ type: 'Invalid', field, value: v, detail });
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, field = 'metadata.annotations'): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(stringMap(annotations))) {
    // The rule is QualifiedName except that case does not matter.
    for (const detail of isQualifiedName(k.toLowerCase())) errs.push({ type: 'Invalid', field, value: k, detail });
    if (typeof v !== 'string') errs.push({ type: 'Invalid', field, value: v, detail: 'must be a string' });
    size += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) {
    errs.push({ type: 'TooLong', field, detail: `must have at most ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes` });
  }
  return errs;
}

export interface MetaValidationOptions {
  /** How the resource validates names (most, including custom resources: DNS-1123 subdomain). */
  nameRule?: 'subdomain' | 'label';
}

/** ValidateObjectMeta: name (or generateName), namespace, labels, annotations, finalizers. */
export function validateObjectMeta(metadata: unknown, opts: MetaValidationOptions = {}): FieldError[] {
  const meta = stringMap(metadata);
  const nameRule = opts.nameRule === 'label' ? isDns1123Label : isDns1123Subdomain;
  const errs: FieldError[] = [];
  const generateName = typeof meta.generateName === 'string' ? meta.generateName : '';
  if (generateName) {
    // A prefix: a trailing '-' is allowed because random characters follow it.
    for (const detail of nameRule(generateName.replace(/-$/, 'a')))
      errs.push({ type: 'Invalid', field: 'metadata.generateName', value: generateName, detail });
  }
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!name) errs.push({ type: 'Required', field: 'metadata.name', detail: 'name or generateName is required' });
  else for (const detail of nameRule(name)) errs.push({ type: 'Invalid', field: 'metadata.name', value: name, detail });
  if (typeof meta.namespace === 'string' && meta.namespace) {
    for (const detail of isDns1123Label(meta.namespace))
      errs.push({ type: 'Invalid', field: 'metadata.namespace', value: meta.namespace, detail });
  }
  errs.push(...validateLabels(meta.labels));
  errs.push(...validateAnnotations(meta.annotations));
  for (const f of Array.isArray(meta.finalizers) ? meta.finalizers : []) {
    for (const detail of isQualifiedName(String(f)))
      errs.push({ type: 'Invalid', field: 'metadata.finalizers', value: f, detail });
  }
  return errs;
}

const REASONS: Record<FieldErrorType, string> = {
  Invalid: 'FieldValueInvalid',
  Required: 'FieldValueRequired',
  TooLong: 'FieldValueTooLong',
  Forbidden: 'FieldValueForbidden',
};

/** What field.Error.ErrorBody() prints, e.g. `Invalid value: "x": must be no more than 63 characters`. */
export function errorBody(e: FieldError): string {
  switch (e.type) {
    case 'Invalid':
      return `Invalid value: ${JSON.stringify(e.value)}: ${e.detail}`;
    case 'Required':
      return `Required value: ${e.detail}`;
    case 'TooLong':
      return `Too long: ${e.detail}`;
    case 'Forbidden':
      return `Forbidden: ${e.detail}`;
  }
}

export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`;
}

/** The 422 Status body the API server answers an invalid object with (apierrors.NewInvalid). */
export function invalidStatus(
  kind: string,
  group: string,
  name: string,
  errors: FieldError[],
): Record<string, unknown> {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const list = errors.map(formatFieldError);
  const aggregate = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${qualifiedKind} ${JSON.stringify(name)} is invalid: ${aggregate}`,
    reason: 'Invalid',
    details: {
      name,
      group,
      kind,
      causes: errors.map((e) => ({ reason: REASONS[e.type], message: errorBody(e), field: e.field })),
    },
    code: 422,
  };
}
