// Structure walkers (docs/inspection-plan.md, module 1): every place a request can carry data (the
// target's path segments and query, the header fields and cookies, the body by its content type, a
// WebSocket message, a DNS name) turned into named leaf fields for the detectors and canary
// matchers. Nothing here judges a value; it only says where it was and what was undone to read it.
//
// Paths (`Field::path`):
//   path[2]                    third non-empty segment of the target's path, percent-decoded
//   query.email, query[3]      a query parameter (by name; by index when it has no '=')
//   header.user-agent          a header field, name lower-cased (pseudo-headers ":path"... skipped)
//   header.cookie:uid          one cookie of a Cookie header
//   body.device.idfa           a JSON member, body.messages[0].content an element of an array;
//                              body#1.x the second document of NDJSON / concatenated JSON
//   form.email                 an application/x-www-form-urlencoded body
//   multipart.file1            a multipart/form-data part (its text), multipart.file1.x when the part
//                              is JSON or a form; multipart.file1:filename its file name
//   body                       any other body that is text (valid UTF-8 without binary controls)
//   ws[3], ws[3].text          a WebSocket message as text, or walked as JSON
//   dns.label[0], dns.name     the labels of a DNS name, and the whole name
// With a prefix other than "body" (e.g. "ws[3]"), forms and multipart parts sit under the prefix too
// (ws[3].email, ws[3].file1); under "body" they are named by their encoding (form., multipart.).
//
// Keys and names go into paths as they are, decoded (a key holding '.' or '[' makes a path that
// reads ambiguously; `name` is exact); a path longer than the limit is truncated (possibly inside a
// UTF-8 sequence: paths are untrusted text, escaped by whoever prints them).
//
// `Field::name` is the last key lower-cased (ASCII): the member name for JSON, the enclosing member's
// for array elements, the parameter / cookie / part / header name; "" when there is none.
// `Field::decoding` is what was undone to get the value, and only when it changed something:
// "url" (percent-decoding, '+' as space in queries and forms), "json" (JSON string escapes), "";
// for JSON embedded in a value, the chain outer first: "url+json", "json+json".
//
// Embedded JSON: a JSON string value, or a query/form value, that holds a JSON object or array
// ("data": "{\"email\": ...}", ?event={"id":1}) is walked too, under that value's path
// (body.data.email, query.event.id), one level deep; the string itself is still a field.
//
// JSON goes through Boost.JSON's basic_parser (SAX-style, with our handler) so that numbers keep
// their original text ("48.85837", "1e3", "-0.0"), which latitude/longitude detectors need; nulls are
// not fields; true/false are. Comments, trailing commas and invalid UTF-8 inside strings are accepted
// (a lenient reader sees more). A body that is declared JSON, or that starts with '{' or '[' whatever
// its type, is read as JSON; when it is malformed, what was walked is kept, `malformed` is set, and
// the whole body is also given as one text field (so the part after the error is still seen).
//
// Lifetime: every string_view in a Field or NamedScalar points into the input or into the walker's
// own buffers and is valid only for the duration of the callback. Copy what must be kept.
//
// Untrusted input: everything is bounds-checked and limited (WalkLimits); a crossed limit sets
// `WalkStats::cut` and is never silent. No exception leaves these functions (allocation failure
// included: the walk stops with `cut`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "analysis/inspect/named_scalar.h"

namespace flowaudit::analysis::inspect {

struct Field {
  std::string_view path;
  std::string_view name;
  std::string_view value;
  std::string_view decoding;  // "", "url", "json", "url+json", "json+json"
};


class FieldSink {
 public:
  virtual ~FieldSink() = default;
  // One leaf.
  virtual void on_field(const Field& f) = 0;
  // One JSON object (at its end), a query, a form, the cookies of a Cookie header or a header list,
  // with its scalar members (nested objects and arrays are not members): for detectors that need
  // pairs (latitude/longitude) or groups (fingerprint attributes). Not called for objects without
  // scalar members. The members' strings are valid during the call only.
  virtual void on_object(std::string_view path, std::span<const NamedScalar> members) = 0;
};

struct WalkLimits {
  std::size_t depth = 64;               // JSON nesting walked; deeper containers are skipped (cut)
  std::size_t max_fields = 4096;        // on_field calls per walk
  std::size_t max_bytes = 1024 * 1024;  // input bytes read per walk (the rest is not read: cut)
  std::size_t max_path = 256;           // bytes of a path; longer paths are truncated (cut)
};

struct WalkStats {
  std::uint64_t fields = 0;   // on_field calls
  std::uint64_t objects = 0;  // on_object calls
  std::uint64_t bytes = 0;    // input bytes read
  std::uint32_t skipped = 0;  // bodies or parts not walked: binary, or not UTF-8 text
  bool cut = false;           // a limit was crossed
  bool malformed = false;     // JSON that did not parse, a multipart body without its boundary or end
};

// The request target as sent (origin form "/a/b?q=1", absolute form "https://h/a?q", authority or
// asterisk form): path segments as path[i] (percent-decoded, '+' kept), then the query as query.NAME
// (percent-decoded, '+' as space; separators are '&' only, as in the URL Standard's
// application/x-www-form-urlencoded parser), then on_object("query", ...). The fragment is ignored.
WalkStats walk_target(std::string_view target, FieldSink& sink, const WalkLimits& limits = {});

// A request's header fields (name, value), any case. Cookie headers are split into header.cookie:NAME
// (values as sent: cookies have no one encoding) with an on_object("header.cookie", ...); the other
// fields are header.NAME; then on_object("header", every non-cookie field) for fingerprint groups.
using HeaderList = std::span<const std::pair<std::string_view, std::string_view>>;
WalkStats walk_headers(HeaderList headers, FieldSink& sink, const WalkLimits& limits = {});

// A body (content-decoded) or a WebSocket message, by its content type (may be empty):
// JSON (application/json, */*+json, text/json, NDJSON, or anything starting with '{' / '['),
// application/x-www-form-urlencoded, multipart/form-data (RFC 7578; boundary from the content type,
// each part walked by its own content type, nested multipart one level deep), else one text field
// when the bytes are valid UTF-8 without binary control characters, else nothing (`skipped`).
// `prefix` is "body" for a request body, "ws[3]" for a WebSocket message, etc.
WalkStats walk_body(std::string_view content_type, std::span<const std::uint8_t> body, std::string_view prefix,
                    FieldSink& sink, const WalkLimits& limits = {});

// A DNS name (dotted, as the DNS reader gives it; a trailing dot is ignored): each label as
// PLACE.label[i] (data is exfiltrated in labels), then the whole name as PLACE.name. PLACE is "dns"
// for a query name, "sni" for a TLS/QUIC server name, "host" for an HTTP Host or :authority (its
// port left out).
WalkStats walk_dns_name(std::string_view name, FieldSink& sink, const WalkLimits& limits = {},
                        std::string_view place = "dns");

}  // namespace flowaudit::analysis::inspect
