#!/bin/sh
# Entry point of the step image: Argo templates call `strata <step> …`.
exec node /app/strata.mjs "$@"
