// `strata audit seal|verify|prove|consistency|check-proof|keygen`: the Merkle audit log (docs/audit.md).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { checkStoreLog, latestHead, readHeadBySeq, sealLog } from '../../lib/audit/store-log.ts';
import { sealOptionsOf } from '../../lib/audit/seal-options.ts';
import { keyIdOf } from '../../lib/audit/head-signature.ts';
import { parseTreeHead, type LogEntry, type TreeHead } from '../../lib/audit/log-format.ts';
import type { Hash } from '../../lib/audit/merkle.ts';
import { proofProblem, proveConsistency, proveInclusion } from '../../lib/audit/proof.ts';
import { generateSigningKey, loadPublicKey, loadSigningKey } from '../../lib/audit/signing-key.ts';
import { formatRecord, type ExportedRecord, type ExportFormat } from '../../lib/audit/export-format.ts';
import { readVerifiedLog } from '../../lib/audit/verified-log.ts';
import { deliverToWebhook } from '../../lib/audit/webhook-sink.ts';
import { runStep, type GlobalArgs, type StepContext } from '../../lib/cli/run-step.ts';
import { AuditError, ConfigError, ExitCode } from '../../lib/errors.ts';

const signingKeyOf = (ctx: StepContext): KeyObject | undefined =>
  ctx.config.audit.signingKey ? loadSigningKey(ctx.config.audit.signingKey) : undefined;

function publicKeyOf(ctx: StepContext, flag?: string): KeyObject | undefined {
  if (flag) return loadPublicKey(flag);
  if (ctx.config.audit.publicKey) return loadPublicKey(ctx.config.audit.publicKey);
  const signing = signingKeyOf(ctx);
  return signing && createPublicKey(signing);
}

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the ${what}: ${(err as Error).message}`, { file: path });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`the ${what} is not JSON`, { file: path });
  }
}

function trustedHead(path: string): TreeHead {
  const head = parseTreeHead(JSON.stringify(readJsonFile(path, 'trusted head')));
  if (typeof head === 'string') throw new ConfigError(`not a tree head: ${head}`, { file: path });
  return head;
}

/** The log's leaf hashes and entries, from a log that checks; refuses to prove anything from one that does not. */
async function verifiedLeaves(ctx: StepContext): Promise<{ leaves: Hash[]; entries: Map<number, LogEntry> }> {
  const leaves: Hash[] = [];
  const entries = new Map<number, LogEntry>();
  const check = await checkStoreLog(ctx.store(), {
    publicKey: publicKeyOf(ctx),
    onRecord: (i, leaf, entry) => {
      leaves.push(leaf);
      entries.set(i, entry);
    },
  });
  if (!check.ok) throw new AuditError(`the audit log does not verify: ${check.problems[0]!.message}`);
  return { leaves, entries };
}

const sealCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'seal',
  describe: 'Seal pending audit records into the log under a new (signed) tree head',
  handler: runStep(async (_args, ctx) => {
    ctx.output(await sealLog(ctx.store(), sealOptionsOf(ctx.config.audit)));
  }),
};

interface VerifyArgs {
  seal: boolean;
  trustedHead?: string[];
  publicKey?: string;
}

const verifyCommand: CommandModule<GlobalArgs, VerifyArgs> = {
  command: 'verify',
  describe: 'Check the whole audit log (seals pending records first); names the first bad record',
  builder: (y) =>
    y
      .option('seal', { type: 'boolean', default: true, describe: 'seal pending records first (--no-seal: read only)' })
      .option('trusted-head', {
        type: 'string',
        array: true,
        describe: 'a head known from elsewhere (JSON file): the log must still contain it',
      })
      .option('public-key', {
        type: 'string',
        describe: 'PEM public key (default: audit.publicKey)',
      }) as Argv<VerifyArgs>,
  handler: runStep<VerifyArgs>(async (args, ctx) => {
    const sealed = args.seal ? await sealLog(ctx.store(), sealOptionsOf(ctx.config.audit)) : undefined;
    const publicKey = publicKeyOf(ctx, args.publicKey);
    const check = await checkStoreLog(ctx.store(), {
      publicKey,
      trustedHeads: (args.trustedHead ?? []).map(trustedHead),
    });
    ctx.output({ ...check, sealed: sealed?.sealed ?? 0 });
    if (!publicKey) ctx.log('strata: no audit public key configured: signatures not checked (audit.publicKey)');
    for (const p of check.problems) ctx.log(`strata: audit log: ${p.message}`);
    return ctx.auditAfter(
      {
        action: 'verify',
        actor: 'strata/audit',
        subject: 'audit-log',
        outcome: check.ok ? 'ok' : 'failed',
        reason: check.problems[0]?.message,
        hashes: check.head ? [check.head.root] : undefined,
        details: { heads: check.heads, records: check.records, signed: check.signed },
      },
      check.ok ? ExitCode.Ok : ExitCode.Failed,
    );
  }),
};

interface ProveArgs {
  record: number;
  head?: number;
}

const proveCommand: CommandModule<GlobalArgs, ProveArgs> = {
  command: 'prove <record>',
  describe: 'Print an inclusion proof of a sealed record (by index) in a tree head (default: the newest)',
  builder: (y) =>
    y
      .positional('record', { type: 'number', demandOption: true, describe: 'record index in the log' })
      .option('head', { type: 'number', describe: 'tree head sequence number' }) as Argv<ProveArgs>,
  handler: runStep<ProveArgs>(async (args, ctx) => {
    const { leaves, entries } = await verifiedLeaves(ctx);
    const head = args.head !== undefined ? await readHeadBySeq(ctx.store(), args.head) : await latestHead(ctx.store());
    const entry = entries.get(args.record);
    if (!head || !entry || args.record >= head.size) {
      throw new ConfigError(`record ${args.record} is not sealed in ${head ? `head ${head.seq}` : 'the log'}`);
    }
    ctx.output(proveInclusion(entry, head, leaves));
  }),
};

interface ConsistencyArgs {
  old: number;
  new: number;
}

const consistencyCommand: CommandModule<GlobalArgs, ConsistencyArgs> = {
  command: 'consistency <old> <new>',
  describe: 'Print a proof that tree head <new> extends tree head <old> (sequence numbers)',
  builder: (y) =>
    y
      .positional('old', { type: 'number', demandOption: true })
      .positional('new', { type: 'number', demandOption: true }) as Argv<ConsistencyArgs>,
  handler: runStep<ConsistencyArgs>(async (args, ctx) => {
    if (args.old > args.new) throw new ConfigError(`head ${args.old} is newer than head ${args.new}`);
    const { leaves } = await verifiedLeaves(ctx);
    const [old, next] = await Promise.all([readHeadBySeq(ctx.store(), args.old), readHeadBySeq(ctx.store(), args.new)]);
    ctx.output(proveConsistency(old, next, leaves));
  }),
};

interface CheckProofArgs {
  file: string;
  publicKey?: string;
}

const checkProofCommand: CommandModule<GlobalArgs, CheckProofArgs> = {
  command: 'check-proof <file>',
  describe: 'Check a proof from `audit prove` or `audit consistency` with the public key alone (no store)',
  builder: (y) =>
    y.positional('file', { type: 'string', demandOption: true }).option('public-key', {
      type: 'string',
      describe: 'PEM public key (default: audit.publicKey)',
    }) as Argv<CheckProofArgs>,
  handler: runStep<CheckProofArgs>(async (args, ctx) => {
    const publicKey = publicKeyOf(ctx, args.publicKey);
    if (!publicKey) throw new ConfigError('check-proof needs the log public key: --public-key or audit.publicKey');
    const problem = proofProblem(readJsonFile(args.file, 'proof'), publicKey);
    ctx.output({ ok: !problem, problem });
    return problem ? ctx.fail(`proof does not hold: ${problem}`) : ExitCode.Ok;
  }),
};

interface KeygenArgs {
  out: string;
}

const keygenCommand: CommandModule<GlobalArgs, KeygenArgs> = {
  command: 'keygen',
  describe: 'Create an Ed25519 key for signing tree heads (private key to --out; prints the public key)',
  builder: (y) =>
    y.option('out', {
      type: 'string',
      demandOption: true,
      describe: 'file for the private key (must not exist)',
    }) as Argv<KeygenArgs>,
  handler: runStep<KeygenArgs>(async (args, ctx) => {
    const { privateKey, publicKey } = generateSigningKey();
    try {
      writeFileSync(args.out, privateKey, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      throw new ConfigError(`cannot create the key file: ${(err as Error).message}`, { file: args.out });
    }
    ctx.output({ privateKey: args.out, keyId: keyIdOf(createPublicKey(publicKey)), publicKey });
  }),
};

interface ExportArgs {
  format: ExportFormat;
  after?: number;
  webhook?: string;
  seal: boolean;
}

const exportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  command: 'export',
  describe:
    'Sealed records, verified first, as JSON Lines, RFC 5424 syslog or CEF on stdout, or to a CloudEvents webhook',
  builder: (y) =>
    y
      .option('format', {
        choices: ['jsonl', 'syslog', 'cef'] as const,
        default: 'jsonl' as ExportFormat,
        describe: 'line format on stdout',
      })
      .option('after', { type: 'number', describe: 'only records with a larger index (stdout)' })
      .option('webhook', {
        type: 'string',
        describe: 'POST each record as a CloudEvent here instead, retried with backoff, resuming where it stopped',
      })
      .option('seal', {
        type: 'boolean',
        default: true,
        describe: 'seal pending records first (--no-seal: read only)',
      }) as Argv<ExportArgs>,
  handler: runStep<ExportArgs>(async (args, ctx) => {
    const store = ctx.store();
    if (args.seal) await sealLog(store, sealOptionsOf(ctx.config.audit));
    const log = await readVerifiedLog(store, publicKeyOf(ctx));
    const records: ExportedRecord[] = log.entries.flatMap((e) =>
      'unreadable' in e.record ? [] : [{ id: log.leaves[e.index]!.toString('hex'), index: e.index, record: e.record }],
    );
    if (args.webhook) {
      ctx.output(await deliverToWebhook(store, records, { url: args.webhook, source: `strata/audit${store.url}` }));
      return;
    }
    for (const r of records) {
      if (args.after !== undefined && r.index <= args.after) continue;
      process.stdout.write(formatRecord(r, args.format) + '\n');
    }
  }),
};

export const auditCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'audit <command>',
  describe: 'The audit log: seal, verify, prove, consistency, check-proof, keygen, export',
  builder: (y) =>
    y
      .command(sealCommand)
      .command(verifyCommand)
      .command(proveCommand)
      .command(consistencyCommand)
      .command(checkProofCommand)
      .command(keygenCommand)
      .command(exportCommand)
      .demandCommand(1, 'name an audit command: seal, verify, prove, consistency, check-proof, keygen, export'),
  handler: () => {},
};
