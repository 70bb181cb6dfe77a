// The parts of Pods and Argo templates the stand-in reads (the API server and the controller fill in the rest).

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: unknown;
  };
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  fsGroup?: number;
  readOnlyRootFilesystem?: boolean;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: {
    prefix?: string;
    configMapRef?: { name: string; optional?: boolean };
    secretRef?: { name: string; optional?: boolean };
  }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  securityContext?: SecurityContext;
  terminationMessagePath?: string;
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
}

export interface KeyToPath {
  key: string;
  path: string;
}

export interface Volume {
  name: string;
  emptyDir?: object;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { secretName: string; items?: KeyToPath[]; optional?: boolean };
  projected?: {
    sources: {
      serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
      configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
      downwardAPI?: { items: { path: string; fieldRef?: { fieldPath: string } }[] };
    }[];
  };
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    activeDeadlineSeconds?: number;
    securityContext?: SecurityContext;
    initContainers?: Container[];
    containers: Container[];
    volumes?: Volume[];
  };
  status?: { phase?: string };
}

export interface S3Location {
  bucket?: string;
  endpoint?: string;
  insecure?: boolean;
  region?: string;
  key?: string;
  accessKeySecret?: { name: string; key: string };
  secretKeySecret?: { name: string; key: string };
}

export interface ArchiveLocation {
  archiveLogs?: boolean;
  s3?: S3Location;
}

export interface ArtifactSpec {
  name: string;
  path?: string;
  optional?: boolean;
  archive?: { none?: object; tar?: object; zip?: object };
  s3?: S3Location;
  raw?: { data: string };
  from?: string;
}

/** The template Argo's controller hands the executor (ARGO_TEMPLATE), inputs already substituted. */
export interface ArgoTemplate {
  name?: string;
  container?: Container;
  script?: Container & { source?: string };
  inputs?: { parameters?: { name: string; value?: string }[]; artifacts?: ArtifactSpec[] };
  outputs?: {
    parameters?: { name: string; valueFrom?: { path?: string; default?: string } }[];
    artifacts?: ArtifactSpec[];
  };
  archiveLocation?: ArchiveLocation;
}
