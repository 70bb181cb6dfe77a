// `strata keys rotate|erase`: tenants' envelope keys in an encrypted repository (docs/encryption.md). Rotation wraps
// a tenant's data key under a new KEK (no sealed object is rewritten); erasure destroys the KEK (crypto-shredding).
import type { Argv, CommandModule } from 'yargs';
import { identityClaim, withIdentityOptions, type IdentityArgs } from '../../lib/cli/identity-options.ts';
import { runStep, type GlobalArgs, type StepContext } from '../../lib/cli/run-step.ts';
import { EncryptedStore } from '../../lib/crypto/encrypted-store.ts';
import { openRepository } from '../../lib/archive/index.ts';
import { eraseTenant } from '../../lib/crypto/erase.ts';
import { ConfigError, ExitCode, InputError } from '../../lib/errors.ts';
import { holdsBlockingErasure } from '../../lib/holds/erasure-holds.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';

interface TenantArgs extends IdentityArgs {
  tenant: string;
}

interface EraseArgs extends TenantArgs {
  reason: string;
  yes?: boolean;
}

function encryptedStore(ctx: StepContext): EncryptedStore {
  const store = ctx.store();
  if (!(store instanceof EncryptedStore))
    throw new ConfigError('the store is not encrypted (encryption.enabled is off): there are no tenant keys');
  return store;
}

const rotateCommand: CommandModule<GlobalArgs, TenantArgs> = {
  command: 'rotate',
  describe: "Wrap a tenant's data key under a new key-encryption key and retire the old one (no data is rewritten)",
  builder: (y) =>
    withIdentityOptions(y).option('tenant', {
      type: 'string',
      demandOption: true,
      describe: 'the tenant (by default a namespace)',
    }) as Argv<TenantArgs>,
  handler: runStep<TenantArgs>(async (args, ctx) => {
    const caller = await ctx.caller(identityClaim(args));
    const rotated = await encryptedStore(ctx).keyring.rotate(args.tenant);
    ctx.output(rotated);
    return ctx.auditAfter({
      action: 'key-rotate',
      actor: caller.identity.username,
      verified: caller.identity.verified,
      subject: `tenant:${args.tenant}`,
      outcome: 'ok',
      details: rotated,
    });
  }),
};

const eraseCommand: CommandModule<GlobalArgs, EraseArgs> = {
  command: 'erase',
  describe:
    'Crypto-shred a tenant: destroy its key-encryption key, so none of its data is readable anywhere (every tier, replica and backup)',
  builder: (y) =>
    withIdentityOptions(y)
      .option('tenant', { type: 'string', demandOption: true, describe: 'the tenant (by default a namespace)' })
      .option('reason', { type: 'string', demandOption: true, describe: 'why (erasure request, ticket)' })
      .option('yes', { type: 'boolean', describe: 'confirm: this cannot be undone' }) as Argv<EraseArgs>,
  handler: runStep<EraseArgs>(async (args, ctx) => {
    if (!args.yes) throw new ConfigError(`erasing tenant "${args.tenant}" cannot be undone: confirm with --yes`);
    const caller = await ctx.caller(identityClaim(args));
    const subject = `tenant:${args.tenant}`;
    // Who may erase a tenant may emergency-delete in every namespace (templates/base/roles-people.yaml).
    if (caller.identity.verified)
      await caller.require(
        { verb: 'create', resource: 'emergencydeletions' },
        { audit: ctx.audit, action: 'erase', subject },
      );
    const store = encryptedStore(ctx);
    const blocking = await holdsBlockingErasure(
      await openRepository(store),
      await new HoldRepository(store).listHolds(),
      (ns) => store.tenantOfNamespace(ns),
      args.tenant,
    );
    if (blocking.length > 0)
      throw new InputError(
        `tenant "${args.tenant}" is under legal hold, nothing erased (release the holds first): ` +
          blocking.map((b) => `${b.hold.workflowUid}/${b.hold.id}: ${b.why}`).join('; '),
      );
    // Write-before-act: an erasure that could not be recorded does not happen.
    await ctx.audit.record({
      action: 'erase',
      actor: caller.identity.username,
      verified: caller.identity.verified,
      subject,
      outcome: 'started',
      reason: args.reason,
    });
    const proof = await eraseTenant(store, args.tenant);
    for (const k of proof.kept) ctx.log(`kept (unreadable): ${k.key}: ${k.why}`);
    ctx.output(proof);
    return ctx.auditAfter(
      {
        action: 'erase',
        actor: caller.identity.username,
        verified: caller.identity.verified,
        subject,
        outcome: proof.unwrapRefused ? 'ok' : 'failed',
        reason: args.reason,
        hashes: proof.dataKeys.map((k) => k.checkValue),
        details: { ...proof },
      },
      proof.unwrapRefused ? ExitCode.Ok : ExitCode.Failed,
    );
  }),
};

export const keysCommand: CommandModule<GlobalArgs, object> = {
  command: 'keys <command>',
  describe: "Tenants' encryption keys: rotate, erase",
  builder: (y) => y.command(rotateCommand).command(eraseCommand).demandCommand(1),
  handler: () => {},
};
