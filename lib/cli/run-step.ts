// Wraps a step's handler: configuration, store, output, progress, audit, and errors → one line + exit code.
import type { ArgumentsCamelCase } from 'yargs';
import { createStoreAuditLog } from '../audit/store-audit.ts';
import type { AuditLog } from '../audit/audit.ts';
import { loadConfig, type OutputFormat, type StrataConfig } from '../config/config.ts';
import { describeError, ExitCode, exitCodeOf } from '../errors.ts';
import { openStore } from '../store/open.ts';
import type { ObjectStore } from '../store/store.ts';
import { formatOutput, writeOutputParameters } from './output.ts';
import { createProgress, type Progress } from './progress.ts';

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
}

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

export function createContext(args: GlobalArgs, env: NodeJS.ProcessEnv = process.env): StepContext {
  const config = configFromArgs(args, env);
  let store: ObjectStore | undefined;
  const getStore = () => (store ??= openStore(config.store, config.s3));
  const outputsDir = args['outputs-dir'] ?? env.STRATA_OUTPUTS_DIR;
  let audit: AuditLog | undefined;
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
    log(message) {
      process.stderr.write(message + '\n');
    },
  };
}

export type StepHandler<A> = (args: ArgumentsCamelCase<A & GlobalArgs>, ctx: StepContext) => Promise<ExitCode | void>;

export function runStep<A>(handler: StepHandler<A>): (args: ArgumentsCamelCase<A & GlobalArgs>) => Promise<void> {
  return async (args) => {
    let debug = Boolean(args.debug);
    try {
      const ctx = createContext(args);
      debug = ctx.config.debug;
      process.exitCode = (await handler(args, ctx)) ?? ExitCode.Ok;
    } catch (err) {
      process.stderr.write(`strata: ${describeError(err)}\n`);
      if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
      process.exitCode = exitCodeOf(err);
    }
  };
}
