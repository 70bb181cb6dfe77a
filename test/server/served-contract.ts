// Test helpers for the query service's REST API: requests with a bearer token, and answers checked against the
// OpenAPI document the server itself serves (the one clients read), so a test fails on an undocumented status or a
// body its schema does not allow.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';

interface ServedDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: { schemas: { Problem: object } };
}

export interface ServedContract {
  /** The body, checked against the served document for this route, method and status. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked by schema at run time
  checked(res: Response, route: string, method?: 'get' | 'post'): Promise<any>;
}

export async function servedContract(base: string): Promise<ServedContract> {
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as ServedDocument;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  return {
    async checked(res, route, method = 'get') {
      const body: unknown = await res.json();
      const responses = doc.paths[route]![method]!.responses;
      expect(responses[String(res.status)], `status ${res.status} documented for ${method} ${route}`).toBeDefined();
      const schema =
        res.status < 300
          ? responses[String(res.status)]!.content!['application/json']!.schema
          : doc.components.schemas.Problem;
      const validate = ajv.compile(schema);
      expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
      return body;
    },
  };
}

/** A request to the service, with `token` as the bearer (none: anonymous) and `body` as JSON. */
export function call(base: string, method: 'GET' | 'POST', path: string, token?: string, body?: unknown) {
  return fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}
