// A failed step's cause, written where Kubernetes reads a container's termination message (Argo's node message).
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/** Where the kubelet reads the message from (the container's `terminationMessagePath`, default /dev/termination-log). */
export const DEFAULT_TERMINATION_LOG = '/dev/termination-log';

/** The kubelet keeps at most 4096 bytes of a container's termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/** Cuts a message to the kubelet's limit on a character boundary, marking the cut. */
export function fitTerminationMessage(message: string, limit = TERMINATION_MESSAGE_LIMIT): string {
  const bytes = Buffer.from(message, 'utf8');
  if (bytes.length <= limit) return message;
  const marker = ' …(cut)';
  let text = bytes.subarray(0, limit - Buffer.byteLength(marker)).toString('utf8');
  // A multi-byte character cut in half decodes as U+FFFD: drop it.
  text = text.replace(/\uFFFD+$/, '');
  return text + marker;
}

/**
 * Writes `message` to the termination log: `STRATA_TERMINATION_LOG`, else /dev/termination-log. Only a file that
 * already exists is written (the kubelet creates it in a pod; outside one nothing is created), and a failure to write
 * is ignored: the message is also on stderr, and the step's exit code must not change because of it.
 */
export function writeTerminationMessage(message: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const path = env.STRATA_TERMINATION_LOG || DEFAULT_TERMINATION_LOG;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r+');
    ftruncateSync(fd, 0);
    writeSync(fd, fitTerminationMessage(message), 0, 'utf8');
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
