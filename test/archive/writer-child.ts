// Child process for the unfinished-write tests: starts a put whose body never ends, says so, and waits to be killed.
// Usage: writer-child.ts <store-root> <key>
import { Readable } from 'node:stream';
import { FileSystemStore } from '../../lib/store/fs.ts';

if (process.argv[1]?.endsWith('writer-child.ts')) {
  const [root, key] = process.argv.slice(2);
  const body = new Readable({ read() {} });
  body.push(Buffer.alloc(1 << 20, 7));
  const put = new FileSystemStore(root!).put(key!, body);
  put.catch(() => {});
  // The first MiB is in the temp file once the store has opened it and written: then the parent kills us.
  const wait = setInterval(() => process.stdout.write('writing\n'), 50);
  process.on('exit', () => clearInterval(wait));
}
