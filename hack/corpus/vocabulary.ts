// Word lists the corpus draws from: repositories, packages, crates, source files and phrases seen in agent runs.

export const AGENTS = [
  { app: '5DLabs-Rex', stage: 'implementation', short: 'rex' },
  { app: '5DLabs-Cleo', stage: 'quality', short: 'cleo' },
  { app: '5DLabs-Tess', stage: 'testing', short: 'tess' },
] as const;

export const REPOSITORIES = [
  { slug: '5dlabs/cto', lang: 'rust', service: 'cto' },
  { slug: '5dlabs/cto-play-test', lang: 'node', service: 'play-test' },
  { slug: '5dlabs/trader', lang: 'rust', service: 'trader' },
  { slug: '5dlabs/agent-docs', lang: 'node', service: 'docs' },
  { slug: '5dlabs/toolman', lang: 'node', service: 'toolman' },
] as const;

export const MODELS = ['claude-sonnet-4-20250514', 'claude-opus-4-1-20250805', 'claude-3-5-sonnet-20241022'];

export const NPM_PACKAGES = (
  '@babel/code-frame @babel/helper-validator-identifier @esbuild/linux-x64 @eslint/js @jridgewell/sourcemap-codec ' +
  '@nodelib/fs.scandir @nodelib/fs.stat @nodelib/fs.walk @rollup/rollup-linux-x64-gnu @types/estree @types/node ' +
  '@typescript-eslint/parser @typescript-eslint/scope-manager @typescript-eslint/types @vitest/expect @vitest/runner ' +
  'acorn ajv ansi-regex ansi-styles argparse balanced-match brace-expansion braces callsites chalk chokidar ' +
  'color-convert color-name commander concat-map cross-spawn debug deep-is esbuild escape-string-regexp eslint ' +
  'eslint-scope espree esquery esrecurse estraverse esutils fast-deep-equal fast-glob fast-json-stable-stringify ' +
  'fastq file-entry-cache fill-range find-up flat-cache flatted glob glob-parent globals graphemer has-flag ignore ' +
  'import-fresh imurmurhash is-extglob is-glob is-number isexe js-yaml json-buffer json-schema-traverse keyv levn ' +
  'locate-path lodash.merge magic-string micromatch minimatch ms nanoid natural-compare optionator p-limit ' +
  'p-locate parent-module path-exists path-key picocolors picomatch postcss prelude-ls prettier punycode ' +
  'queue-microtask resolve-from reusify rollup run-parallel semver shebang-command shebang-regex source-map-js ' +
  'strip-json-comments supports-color tinybench tinypool to-regex-range ts-api-utils tsx type-check typescript ' +
  'undici-types uri-js vite vitest which word-wrap yaml yargs yargs-parser yocto-queue zod'
).split(' ');

export const CRATES = (
  'proc-macro2 unicode-ident quote syn libc cfg-if autocfg once_cell serde serde_derive memchr itoa ryu ' +
  'serde_json log pin-project-lite bytes futures-core smallvec scopeguard lock_api parking_lot_core parking_lot ' +
  'tokio-macros mio socket2 tokio slab futures-task futures-util futures-channel futures-sink tracing-core tracing ' +
  'tracing-attributes http httparse http-body hyper tower-service tower-layer tower h2 indexmap hashbrown equivalent ' +
  'fnv percent-encoding form_urlencoded url idna tinyvec unicode-normalization thiserror thiserror-impl anyhow ' +
  'regex-syntax aho-corasick regex-automata regex base64 ring untrusted rustls rustls-pki-types rustls-webpki ' +
  'webpki-roots hyper-rustls reqwest chrono num-traits iana-time-zone clap_lex clap_builder clap_derive clap ' +
  'strsim heck anstyle anstream utf8parse k8s-openapi kube-core kube-client kube-runtime kube schemars ' +
  'schemars_derive serde_yaml unsafe-libyaml async-trait axum axum-core matchit mime sync_wrapper tower-http ' +
  'uuid getrandom rand rand_core rand_chacha ppv-lite86 sha2 digest block-buffer generic-array typenum hex ' +
  'tracing-subscriber sharded-slab thread_local nu-ansi-term tempfile fastrand rustix linux-raw-sys bitflags'
).split(' ');

export const SOURCE_DIRS = ['src', 'src/controllers', 'src/api', 'src/workflow', 'src/agents', 'tests', 'src/util'];
export const SOURCE_WORDS = (
  'task workflow stage agent runner config client handler request response status retry backoff queue event ' +
  'label selector template manifest session memory context prompt result report coverage commit branch review ' +
  'merge pull deploy service account secret token cache index store reader writer parser schema policy'
).split(' ');

export const RUST_TYPES = ['String', 'Vec<String>', 'Option<u64>', 'Result<(), Error>', 'Arc<Client>', 'bool', 'u32'];
export const TS_TYPES = ['string', 'number', 'boolean', 'string[]', 'Promise<void>', 'Record<string, unknown>'];

export const ASSISTANT_PHRASES = [
  "I'll start by examining the repository structure to understand the existing code.",
  'Let me read the task requirements and the acceptance criteria first.',
  'Now I need to update the handler so it validates the incoming request.',
  'The tests are failing because the mock client does not return a status.',
  "I'll run the test suite again to confirm the fix.",
  'Let me check the CI configuration to see which checks are required.',
  'The implementation is complete. Let me create a pull request with a summary of the changes.',
  'I need to add error handling for the case where the resource is not found.',
  'Let me look at how retries are configured in the existing controller.',
  'All tests pass now. Running clippy and the formatter before committing.',
  'The linter reports an unused import; removing it.',
  'I should also document the new configuration option in the README.',
];

export const TOOL_NAMES = ['Read', 'Edit', 'Write', 'Bash', 'Grep', 'Glob', 'TodoWrite'];

export const BASH_COMMANDS = [
  'cargo test --all-features',
  'cargo clippy --all-targets -- -D warnings',
  'cargo fmt --all -- --check',
  'npm test',
  'npm run lint',
  'git status --short',
  'git diff --stat',
  'gh pr create --fill --label task-',
  'kubectl get coderuns -n agent-platform',
];
