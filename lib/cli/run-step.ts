// Wraps a step's handler: configuration, store, output, progress, audit, and errors → one line + exit code.
import type { ArgumentsCamelCase } from 'yargs';
import { configureEncoderThreads } from '../archive/encoder-threads.ts';
import { createStoreAuditLog } from '../audit/store-audit.ts';
import type { AuditLog, AuditRecord } from '../audit/audit.ts';
import { loadConfig, type OutputFormat, type StrataConfig } from '../config/config.ts';
import { AuditError, AuditRefusal, describeError, ExitCode, exitCodeOf } from '../errors.ts';
import { openCaller, type Caller } from '../identity/caller.ts';
import { openStore } from '../store/open.ts';
import { withEncryption } from '../crypto/open.ts';
import type { ObjectStore } from '../store/store.ts';
import { formatOutput, writeOutputParameters } from './output.ts';
import type { Progress } from '../progress.ts';
import { createProgress } from './progress.ts';
import { writeTerminationMessage } from './termination-message.ts';

/** Flags every command accepts (declared once in steps/cli.ts). */
export interface GlobalArgs {
  config?: string;
  store?: string;
  catalog?: string;
  output?: OutputFormat;
  debug?: boolean;
  's3-endpoint'?: string;
  's3-region'?: string;
  's3-path-style'?: boolean;
  'outputs-dir'?: string;
}

export interface StepContext {
  readonly config: StrataConfig;
  /** The archive repository's object store, opened on first use. */
  store(): ObjectStore;
  readonly audit: AuditLog;
  readonly progress: Progress;
  /** Prints a result in the chosen format and writes Argo output parameters when asked. */
  output(data: unknown): void;
  /** A line for humans on stderr (never mixed with the data on stdout). */
  log(message: string): void;
  /**
   * Says why the step failed, in one line: written as the pod's termination message (Argo shows it as the node's
   * message) and on stderr. Returns ExitCode.Failed for `return ctx.fail(…)`.
   */
  fail(summary: string): ExitCode;
  /**
   * Records the audit entry of a command whose result is already printed (or known), returning its exit code. A
   * record that cannot be written must not hide that result: it is reported after it, and a success becomes
   * ExitCode.Unaudited; a command that failed keeps its own code.
   */
  auditAfter(entry: AuditRecord, code?: ExitCode): Promise<ExitCode>;
  /** Reports a failure that came after the result was printed (see auditAfter); returns the exit code to use. */
  failedAfter(err: unknown, code: ExitCode): ExitCode;
  /**
   * Who runs the command: on a cluster the user the API server names (and RBAC on strata.dev decides what they
   * may do), locally the `--actor` claim, unverified. Asked once per command.
   */
  caller(claim?: {
    actor?: string;
    requester?: string;
    requesterGroups?: string[];
    kubeServer?: string;
  }): Promise<Caller>;
}

/** What runStep reads back from a context after the handler: the failure summary and the last lines logged. */
interface StepOutcome {
  failure(): string | undefined;
  recentLog(): string[];
  /** Audit records the step could not write (reported through failedAfter/auditAfter). */
  auditWriteFailures(): number;
  /** Where Argo output parameters go (--outputs-dir, STRATA_OUTPUTS_DIR), if anywhere. */
  outputsDir: string | undefined;
}

/**
 * The output parameter every step writes when it has an outputs directory, success or not: how many audit records
 * it could not write (an operation refused for it, or a closing record lost). The templates' metrics count it.
 */
export const AUDIT_WRITE_FAILURES_OUTPUT = 'auditWriteFailures';

const isAuditWriteFailure = (err: unknown) => err instanceof AuditError || err instanceof AuditRefusal;

/** Lines of stderr kept to explain a failure the step did not summarise itself. */
const RECENT_LOG_LINES = 5;

export function configFromArgs(args: GlobalArgs, env: NodeJS.ProcessEnv = process.env): StrataConfig {
  return loadConfig({
    env,
    file: args.config,
    flags: {
      store: args.store,
      catalog: args.catalog,
      output: args.output,
      debug: args.debug,
      s3: { endpoint: args['s3-endpoint'], region: args['s3-region'], forcePathStyle: args['s3-path-style'] },
    },
  });
}

export function createContext(args: GlobalArgs, env: NodeJS.ProcessEnv = process.env): StepContext & StepOutcome {
  const config = configFromArgs(args, env);
  configureEncoderThreads(config.encoderThreads);
  let store: ObjectStore | undefined;
  const getStore = () => (store ??= withEncryption(openStore(config.store, config.s3), config.encryption, config.s3));
  const outputsDir = args['outputs-dir'] ?? env.STRATA_OUTPUTS_DIR;
  let audit: AuditLog | undefined;
  let caller: Promise<Caller> | undefined;
  let failure: string | undefined;
  let auditWriteFailures = 0;
  const recent: string[] = [];
  const log = (message: string) => {
    process.stderr.write(message + '\n');
    recent.push(message);
    if (recent.length > RECENT_LOG_LINES) recent.shift();
  };
  const failedAfter = (err: unknown, code: ExitCode): ExitCode => {
    log(`strata: ${describeError(err)}`);
    if (isAuditWriteFailure(err)) auditWriteFailures++;
    if (code !== ExitCode.Ok) return code; // the command's own failure comes first
    failure ??= describeError(err);
    return exitCodeOf(err);
  };
  return {
    config,
    store: getStore,
    get audit() {
      return (audit ??= createStoreAuditLog(getStore()));
    },
    progress: createProgress({ tty: Boolean(process.stderr.isTTY), argoProgressFile: env.ARGO_PROGRESS_FILE }),
    output(data) {
      process.stdout.write(formatOutput(data, config.output) + '\n');
      if (outputsDir) writeOutputParameters(outputsDir, data);
    },
    log,
    fail(summary) {
      failure = summary;
      log(summary);
      return ExitCode.Failed;
    },
    failedAfter,
    async auditAfter(entry, code = ExitCode.Ok) {
      try {
        await this.audit.record(entry);
        return code;
      } catch (err) {
        return failedAfter(err, code);
      }
    },
    caller(claim = {}) {
      return (caller ??= openCaller({
        mode: config.identity,
        actorFlag: claim.actor,
        requester: claim.requester,
        requesterGroups: claim.requesterGroups,
        trustRequesterFrom: config.trustRequesterFrom,
        kubeServer: claim.kubeServer,
        env,
        warn: (m) => log(`warning: ${m}`),
      }));
    },
    failure: () => failure,
    recentLog: () => [...recent],
    auditWriteFailures: () => auditWriteFailures,
    outputsDir,
  };
}

/** The termination message of a step that exited non-zero: its own summary, else the last lines it logged. */
function failureMessage(command: string, code: number, outcome: StepOutcome | undefined): string {
  const summary = outcome?.failure();
  if (summary) return summary;
  const recent = outcome?.recentLog() ?? [];
  return `strata ${command} exited ${code}${recent.length ? `: ${recent.join(' | ')}` : ''}`;
}

export type StepHandler<A> = (args: ArgumentsCamelCase<A & GlobalArgs>, ctx: StepContext) => Promise<ExitCode | void>;

/**
 * Runs a step: a thrown error becomes one line on stderr and an exit code; whenever the exit code is not 0 the cause
 * is also written as the pod's termination message, so Argo shows why the step failed, not only that it did.
 */
export function runStep<A>(handler: StepHandler<A>): (args: ArgumentsCamelCase<A & GlobalArgs>) => Promise<void> {
  return async (args) => {
    let debug = Boolean(args.debug);
    const command = String(args._?.[0] ?? 'step');
    let ctx: (StepContext & StepOutcome) | undefined;
    let thrownAuditFailure = 0;
    try {
      ctx = createContext(args);
      debug = ctx.config.debug;
      const code = (await handler(args, ctx)) ?? ExitCode.Ok;
      process.exitCode = code;
      if (code !== ExitCode.Ok) writeTerminationMessage(failureMessage(command, code, ctx));
    } catch (err) {
      const line = `strata ${command}: ${describeError(err)}`;
      process.stderr.write(`strata: ${describeError(err)}\n`);
      if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
      process.exitCode = exitCodeOf(err);
      writeTerminationMessage(line);
      if (isAuditWriteFailure(err)) thrownAuditFailure = 1;
    }
    const outputsDir = ctx ? ctx.outputsDir : (args['outputs-dir'] ?? process.env.STRATA_OUTPUTS_DIR);
    if (outputsDir) {
      const failures = (ctx?.auditWriteFailures() ?? 0) + thrownAuditFailure;
      try {
        writeOutputParameters(outputsDir, { [AUDIT_WRITE_FAILURES_OUTPUT]: failures });
      } catch (err) {
        // The step's result and exit code stand; said here because Argo then reads the template's default (0).
        process.stderr.write(
          `strata: output parameter ${AUDIT_WRITE_FAILURES_OUTPUT} not written: ${describeError(err)}\n`,
        );
      }
    }
  };
}
