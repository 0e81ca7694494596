// Verifies requests signed with AWS Signature Version 4 (the `Authorization: AWS4-HMAC-SHA256`
// header form), the way the Lambda service does, for the clients Gust must accept: the AWS CLI,
// boto3/botocore and the AWS SDK for JavaScript v3. Transport-neutral: it sees the request as
// plain strings, so the gateway (or a test) adapts whatever its HTTP layer parsed.
//
// Canonicalisation follows AWS's rules for services other than S3, checked against botocore's
// `SigV4Auth` (botocore/auth.py) and AWS's published test suite:
//   - the canonical URI is the path *as sent* (already percent-encoded by the client) with dot
//     segments and repeated slashes removed, then percent-encoded again: `%24LATEST` is signed
//     as `%2524LATEST` and an ARN's `%3A` as `%253A` (Lambda itself answers so, e.g. "The
//     Canonical String for this request should have been 'POST /2015-03-31/functions/
//     arn%253Aaws%253Alambda...'");
//   - the canonical query decodes each name and value, re-encodes them (RFC 3986 unreserved
//     characters stay, everything else is %XX upper-case), and sorts by name, then value;
//   - canonical headers are the SignedHeaders, looked up case-insensitively, each value trimmed
//     with inner runs of whitespace collapsed, repeated headers joined by ',';
//   - the payload hash is X-Amz-Content-SHA256 if the client sent it (the JS SDK does), else
//     the SHA-256 of the body (botocore); a sent hash must also match the body.
//
// Not supported, because none of those clients uses them: presigned URLs (query-string auth),
// the `Date` header instead of `X-Amz-Date`, unsigned or streaming (chunked) payloads, session
// tokens (Gust issues none, so X-Amz-Security-Token is an unrecognised token), SigV4a.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/check.h"
#include "common/result.h"

namespace gust::auth {

// One request as received. Views must outlive the verify() call.
struct SigV4Request {
  std::string_view method;  // e.g. "POST" (compared as given; HTTP methods are upper-case)
  std::string_view path;    // the request target's path exactly as sent, percent-encoded
  std::string_view query;   // the raw query string without '?', "" if none
  // Every header line received, in order, names in any case; a name may repeat.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
};

// Why a request was refused, as Lambda says it: `error_type` goes in x-amzn-ErrorType, the
// message in the JSON body ({"message": ...}, see body()), with HTTP `status`.
struct AuthFailure {
  int status = 403;
  std::string error_type;
  std::string message;

  // Lambda's error body for this failure: {"message":"..."} (JSON-escaped).
  std::string body() const;
};

// The caller a request was signed by.
struct SigV4Identity {
  std::string access_key_id;
  std::string region;  // the credential scope's region, recorded as sent (any is accepted)
};

// A value or the AuthFailure that explains why there is none.
template <class T>
class [[nodiscard]] AuthResult {
 public:
  AuthResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}    // NOLINT: implicit
  AuthResult(AuthFailure f) : v_(std::in_place_index<1>, std::move(f)) {}  // NOLINT: implicit

  bool ok() const { return v_.index() == 0; }
  const T& value() const {
    GUST_CHECK(ok(), "value() on a failed AuthResult");
    return std::get<0>(v_);
  }
  const T& operator*() const { return value(); }
  const T* operator->() const { return &value(); }
  const AuthFailure& failure() const {
    GUST_CHECK(!ok(), "failure() on a successful AuthResult");
    return std::get<1>(v_);
  }

 private:
  std::variant<T, AuthFailure> v_;
};

// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...` header.
struct ParsedAuthorization {
  std::string access_key_id;
  std::string date;  // credential scope date, YYYYMMDD as sent (not yet validated)
  std::string region;
  std::string service;
  std::string terminator;                        // "aws4_request" when well-formed
  std::string signed_headers;                    // as sent, e.g. "host;x-amz-date"
  std::vector<std::string> signed_header_names;  // split on ';'
  std::string signature;                         // as sent (64 lower-case hex when well-formed)
};

// Parses the header's value. Fails with IncompleteSignatureException (403) naming what is
// missing or malformed.
AuthResult<ParsedAuthorization> parseAuthorization(std::string_view value);

// The canonical URI for a raw (as-sent) request path: see the file comment.
std::string canonicalUri(std::string_view raw_path);
// The canonical query string for a raw query string: see the file comment.
std::string canonicalQuery(std::string_view raw_query);
// The canonical request: method, canonical URI, canonical query, canonical headers (for the
// names in `signed_header_names`, in that order), the signed-headers string and the payload
// hash, joined by '\n'.
std::string canonicalRequest(const SigV4Request& request, std::string_view signed_headers,
                             const std::vector<std::string>& signed_header_names,
                             std::string_view payload_hash);
// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical_request>", with scope
// "<date>/<region>/<service>/aws4_request".
std::string stringToSign(std::string_view amz_date, std::string_view date, std::string_view region,
                         std::string_view service, std::string_view canonical_request);
// The lower-case hex signature of `string_to_sign` under the key derived from `secret`.
std::string signature(std::string_view secret, std::string_view date, std::string_view region,
                      std::string_view service, std::string_view string_to_sign);

// The value of an Authorization header for `request` signed with the given key, signing the
// headers named in `signed_header_names` (lower-case, sorted, all present in the request;
// X-Amz-Date must be among the request's headers). For tests and Gust's own clients; the
// payload hash is X-Amz-Content-SHA256 if present, else the body's.
std::string authorizationHeader(const SigV4Request& request, std::string_view access_key_id,
                                std::string_view secret, std::string_view region,
                                std::string_view service,
                                const std::vector<std::string>& signed_header_names);

// Returns the secret access key for an access key id; kNotFound for an unknown (or revoked)
// id, any other error for a failure to look it up. Called at most once per verify().
using SecretLookup = std::function<Result<std::string>(std::string_view access_key_id)>;

struct SigV4Options {
  // The credential scope's service must be this.
  std::string service = "lambda";
  // How far X-Amz-Date may be from `now`, either way. AWS's general rule is 15 minutes.
  std::chrono::seconds max_skew = std::chrono::minutes(15);
};

// Verifies `request`'s signature at time `now`. On success returns who signed it; otherwise the
// failure Lambda would answer (checks in this order):
//   no Authorization header       403 MissingAuthenticationTokenException "Missing
//                                 Authentication Token"
//   malformed Authorization, no   403 IncompleteSignatureException (the message names the
//   or malformed X-Amz-Date,      problem; Lambda's documented status for IncompleteSignature)
//   host not signed
//   wrong scope terminator,       403 InvalidSignatureException (AWS's wording, e.g.
//   service or date               "Credential should be scoped to correct service: 'lambda'. ")
//   X-Amz-Security-Token sent     403 UnrecognizedClientException
//   unknown access key            403 UnrecognizedClientException "The security token included
//                                 in the request is invalid."
//   key lookup failed             500 ServiceException
//   X-Amz-Date too far from now   403 InvalidSignatureException "Signature expired: ..." or
//                                 "Signature not yet current: ..."
//   signature mismatch            403 InvalidSignatureException "The request signature we
//                                 calculated does not match ..."
//   X-Amz-Content-SHA256 is not   403 InvalidSignatureException
//   the body's hash
// Thread-safe (it keeps no state).
AuthResult<SigV4Identity> verify(const SigV4Request& request, const SecretLookup& lookup,
                                 std::chrono::system_clock::time_point now,
                                 const SigV4Options& options = {});

// Formats a time as X-Amz-Date does: YYYYMMDD'T'HHMMSS'Z' (UTC).
std::string amzDate(std::chrono::system_clock::time_point t);
// Parses X-Amz-Date's format strictly; false if malformed or not a real date.
bool parseAmzDate(std::string_view s, std::chrono::system_clock::time_point& out);

}  // namespace gust::auth
