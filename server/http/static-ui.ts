// The dashboard's files (server/ui), read once at start-up and served from memory under /ui/ with a strict CSP.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Where the dashboard's files are in the source tree (the image passes --ui-dir). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

export interface UiFile {
  body: Buffer;
  type: string;
}

/** The dashboard's files by URL path (`/ui/` is index.html); unknown names are simply absent (404). */
export function loadUi(dir: string = DEFAULT_UI_DIR): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (!type) continue;
    const file = { body: readFileSync(join(dir, name)), type };
    files.set(`/ui/${name}`, file);
    if (name === 'index.html') files.set('/ui/', file);
  }
  return files;
}

export const UI_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
