// A TCP gate in front of the e2e cluster's S3 server, so a scenario can make S3 refuse connections for a while without
// losing moto's in-memory data: SIGUSR1 closes the port (and cuts open connections), SIGUSR2 opens it again.
//   node --import tsx hack/e2e/s3-gate.ts <listen port> <target port>
import { createServer, connect, type Server, type Socket } from 'node:net';

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
if (!listenPort || !targetPort) throw new Error('usage: s3-gate.ts <listen port> <target port>');

const open = new Set<Socket>();
let server: Server | undefined;

function accept(): void {
  if (server) return;
  server = createServer((client) => {
    const upstream = connect(targetPort!, '127.0.0.1');
    open.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream).pipe(client);
  });
  server.listen(listenPort, '127.0.0.1', () => log(`accepting on 127.0.0.1:${listenPort} → ${targetPort}`));
}

function refuse(): void {
  server?.close();
  server = undefined;
  for (const s of open) s.destroy();
  open.clear();
  log('refusing');
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} s3-gate: ${line}\n`);
}

process.on('SIGUSR1', refuse);
process.on('SIGUSR2', accept);
process.on('SIGTERM', () => process.exit(0));
// Nothing else holds the event loop while the port is closed.
setInterval(() => undefined, 1 << 30);
accept();
