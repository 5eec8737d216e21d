"""Microsoft identity platform error bodies, in the exact JSON shape Entra
returns, so the relay's error parsing is tested against the real layout."""
import datetime
import json
import uuid

# AADSTS code -> (HTTP status, OAuth error, description text)
ERRORS = {
    7000215: (401, "invalid_client",
              "Invalid client secret provided. Ensure the secret being sent in the request is the "
              "client secret value, not the client secret ID, for a secret added to app '{client_id}'."),
    7000222: (401, "invalid_client",
              "The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
              "portal to create new keys for your app: https://aka.ms/NewClientSecret"),
    90002: (400, "invalid_request",
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
            "signing into the correct cloud."),
    700016: (400, "unauthorized_client",
             "Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
             "This can happen if the application has not been installed by the administrator of the "
             "tenant or consented to by any user in the tenant."),
    70011: (400, "invalid_scope",
            "The provided request must include a 'scope' input parameter. The provided value for "
            "the input parameter 'scope' is not valid. The scope {scope} is not valid."),
    7000218: (401, "invalid_client",
              "The request body must contain the following parameter: 'client_assertion' or "
              "'client_secret'."),
    700027: (401, "invalid_client",
             "Client assertion failed signature validation. (Reason - {reason})"),
    900144: (400, "invalid_request",
             "The request body must contain the following parameter: '{param}'."),
    70003: (400, "unsupported_grant_type",
            "The app requested an unsupported grant type '{grant}'."),
}


def body(code, **fields):
    """(status, JSON bytes) for AADSTS `code`; `fields` fill the description."""
    status, error, text = ERRORS[code]
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    desc = (f"AADSTS{code}: " + text.format_map(_Default(fields)) +
            f" Trace ID: {trace} Correlation ID: {corr} Timestamp: {stamp}")
    doc = {"error": error, "error_description": desc, "error_codes": [code], "timestamp": stamp,
           "trace_id": trace, "correlation_id": corr}
    if code == 7000215 or code == 7000222:
        doc["error_uri"] = "https://login.microsoftonline.com/error?code=%d" % code
    return status, json.dumps(doc).encode()


class _Default(dict):
    def __missing__(self, key):
        return ""
