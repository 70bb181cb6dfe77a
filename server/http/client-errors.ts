// Requests node:http refuses before any handler sees them (headers over its limit, a malformed request line):
// answered with the API's JSON error shape instead of Node's bodiless default, then the connection is closed.
import { maxHeaderSize, STATUS_CODES, type Server } from 'node:http';
import type { Server as TlsServer } from 'node:https';
import type { Duplex } from 'node:stream';

function answer(err: NodeJS.ErrnoException): { status: number; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: `request line and headers are over ${maxHeaderSize} bytes` };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'the request was not received in time' };
    default:
      return { status: 400, message: `malformed HTTP request (${err.code ?? err.message})` };
  }
}

export function answerClientErrors(server: Server | TlsServer): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const { status, message } = answer(err);
    const body = JSON.stringify({ error: { status, message } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  });
}
