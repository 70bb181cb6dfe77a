// Argo's artifact repository as the executor uses it: output artifacts and archived logs up, input artifacts down.
import { execFile } from 'node:child_process';
import { createReadStream, mkdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ArtifactSpec, S3Location } from './kube-types.ts';
import type { PodInputs } from './pod-plan.ts';

const run = promisify(execFile);

export class ArtifactRepository {
  private readonly client: S3Client;

  constructor(
    readonly location: S3Location,
    inputs: PodInputs,
  ) {
    if (!location.bucket || !location.endpoint) throw new Error('artifact repository without bucket or endpoint');
    const secret = (ref: { name: string; key: string } | undefined, what: string): string => {
      const data = ref ? inputs.secrets.get(ref.name)?.data?.[ref.key] : undefined;
      if (data === undefined) throw new Error(`artifact repository ${what} ${ref?.name}/${ref?.key} not found`);
      return Buffer.from(data, 'base64').toString('utf8');
    };
    this.client = new S3Client({
      endpoint: `${location.insecure ? 'http' : 'https'}://${location.endpoint}`,
      region: location.region ?? 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: secret(location.accessKeySecret, 'access key'),
        secretAccessKey: secret(location.secretKeySecret, 'secret key'),
      },
    });
  }

  /** Like Argo's S3 driver, retries a failing upload with backoff (here 5 attempts over ~30 s). */
  async upload(key: string, file: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: key,
            Body: createReadStream(file),
            ContentLength: statSync(file).size,
          }),
        );
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((ok) => setTimeout(ok, 2000 * attempt));
      }
    }
  }

  async download(key: string, file: string): Promise<void> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
    mkdirSync(dirname(file), { recursive: true });
    await writeFile(file, await res.Body!.transformToByteArray());
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** The file name the executor stores an output artifact under: `<name>.tgz`, or the file itself with `archive.none`. */
export function artifactFileName(art: ArtifactSpec): string {
  return art.archive?.none ? basename(art.path ?? art.name) : `${art.name}.tgz`;
}

/** Packs a file or directory the way the executor does (tar + gzip, entries named after the path's base name). */
export async function packArtifact(hostPath: string, art: ArtifactSpec, into: string): Promise<string> {
  if (art.archive?.none) return hostPath;
  const out = join(into, artifactFileName(art));
  mkdirSync(into, { recursive: true });
  await run('tar', ['-czf', out, '-C', dirname(hostPath), basename(hostPath)]);
  return out;
}

/** Unpacks a downloaded input artifact at its path: a tarball's single entry becomes the path, anything else is copied. */
export async function unpackArtifact(downloaded: string, hostPath: string): Promise<void> {
  const { stdout } = await run('tar', ['-tzf', downloaded]).catch(() => ({ stdout: '' }));
  const entries = stdout.split('\n').filter(Boolean);
  mkdirSync(dirname(hostPath), { recursive: true });
  if (!entries.length) {
    await run('cp', [downloaded, hostPath]);
    return;
  }
  const top = new Set(entries.map((e) => e.replace(/^\.\//, '').split('/')[0]));
  const staging = `${hostPath}.unpack`;
  mkdirSync(staging, { recursive: true });
  await run('tar', ['-xzf', downloaded, '-C', staging]);
  const [only] = [...top];
  if (top.size === 1 && only) await run('mv', ['-T', join(staging, only), hostPath]);
  else await run('mv', ['-T', staging, hostPath]);
  await run('rm', ['-rf', staging]);
}
