"""schemathesis hook for the GraphQL run of test/server/fuzz.test.ts (loaded through SCHEMATHESIS_HOOKS).

schemathesis' own not_a_server_error check counts every resolver error whose code it does not know as a server
failure, so a NOT_FOUND, FORBIDDEN or CONFLICT (a job that already ended) fails it. This server marks every error
it expects with a 4xx `extensions.status` and every other one INTERNAL_SERVER_ERROR, so this check is both stricter
and exact: any 5xx, any internal error, a null in a non-null field, or a resolver error without a 4xx status fails.
"""

import schemathesis


@schemathesis.check
def strata_graphql_errors(ctx, response, case):
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"not JSON: {response.text[:500]}")
    for error in body.get("errors") or []:
        extensions = error.get("extensions") or {}
        message = error.get("message", "")
        if extensions.get("code") == "INTERNAL_SERVER_ERROR" or "Cannot return null for non-nullable" in message:
            raise AssertionError(f"server error: {message}")
        status = extensions.get("status")
        if "path" in error and not (isinstance(status, int) and 400 <= status < 500):
            raise AssertionError(f"resolver error without a client status: {error}")
    return None
