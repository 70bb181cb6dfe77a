#!/bin/sh
# Entry point of the step image: Argo templates call `strata <step> …`.
# V8 flags: NODE_FLAGS in images/bundle.ts (test/images checks they agree).
exec node --max-semi-space-size=4 /app/strata.mjs "$@"
