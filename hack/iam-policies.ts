// Prints the IAM policy of each of Strata's ServiceAccounts for a repository, from the one table in
// lib/store/iam-policy.ts: attach each to the IAM role the prod overlay's eks.amazonaws.com/role-arn names.
//   npx tsx hack/iam-policies.ts s3://bucket/prefix [--kms-key-arn arn:aws:kms:…] [--account strata-archiver]
//     [--artifact-repository s3://argo-artifacts/prefix …]
import { parseArgs } from 'node:util';
import { ACCOUNT_COMMANDS, iamPolicy } from '../lib/store/iam-policy.ts';
import { parseStoreUrl } from '../lib/store/open.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'kms-key-arn': { type: 'string' },
    account: { type: 'string' },
    'artifact-repository': { type: 'string', multiple: true },
  },
});
const url = positionals[0];
const loc = url ? parseStoreUrl(url) : undefined;
if (loc?.kind !== 's3') {
  process.stderr.write('usage: npx tsx hack/iam-policies.ts s3://bucket/prefix [--kms-key-arn ARN] [--account NAME]\n');
  process.exit(2);
}
const artifactRepositories = (values['artifact-repository'] ?? []).map((u) => {
  const l = parseStoreUrl(u);
  if (l.kind !== 's3') throw new Error(`--artifact-repository ${u}: not an s3:// URL`);
  return { bucket: l.bucket, prefix: l.prefix };
});
const accounts = values.account ? [values.account] : Object.keys(ACCOUNT_COMMANDS);
const policies = Object.fromEntries(
  accounts.map((a) => [
    a,
    iamPolicy(a, { bucket: loc.bucket, prefix: loc.prefix, kmsKeyArn: values['kms-key-arn'], artifactRepositories }),
  ]),
);
process.stdout.write(JSON.stringify(values.account ? policies[values.account] : policies, null, 2) + '\n');
