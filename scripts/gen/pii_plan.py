"""What scripts/gen/pii-captures plants, and where: the one source of the requests and of labels.tsv.

Every request is described once here (REQUESTS, WS_MESSAGES); the clients (curl, Python http.client,
headless Chromium, python3-websockets) send these descriptions and labels() writes one line per
planted value. Values are synthetic (example.com / example.org addresses, card-network test numbers,
IBAN examples, random UUIDs fixed here so that labels do not change between runs).

Field paths follow docs/inspection-plan.md: path[i] (0-based segment of the URL path), query.NAME,
header.NAME (lower-case), header.cookie:NAME, body.A.B[i] (JSON, also after Content-Encoding: gzip),
form.NAME, multipart.NAME (and multipart.NAME.A.B for a JSON part), ws[i].A.B (i-th client message of
the connection), response.body (a response body: never inspected, a negative).
Objects (latitude/longitude pairs, fingerprint groups) are labelled with the path of the object
(body.geo, query for the whole query string); pii-eval accepts a finding on the object or on a child.
Encoding chains name how the value is written inside its place, applied left to right and joined by
'>': as-is, url (percent-encoding), json (JSON string escapes, \\uXXXX for non-ASCII), hex,
base64@N / base64url@N (the value inside a longer base64 blob, N = the byte offset of the value in
the encoded text, so N mod 3 is the alignment), md5-hex, sha1-hex, sha256-hex, md5-base64,
sha1-base64, sha256-base64 (digests of lower(trim(email))).
"""
import base64
import gzip
import hashlib
import json
import urllib.parse

# ---------------------------------------------------------------- planted values
EMAIL = "alice.tester@example.com"
PHONE_E164 = "+8613812345612"
PHONE_US = "+1 202 555 0143"
PHONE_NAT = "13812345612"
IMEI = "490154203237518"
MEID = "A1000049E72B3C"
IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
GAID = "df07c7dc-cea7-4a89-b328-810ff5acb15d"
ANDROID_ID = "f3a1c2b4d5e60718"
IDFV = "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
MAC = "02:00:5e:10:00:01"
CLIENT_IP = "192.168.1.23"   # the client's address in the captures (after tcprewrite)
LAT, LON = 52.52001, 13.40495
CARDS = ["4111111111111111", "5555555555554444", "378282246310005"]
IBANS = ["DE89370400440532013000", "GB82WEST12345698765432"]
FP = {"screen": "1920x1080x24", "timezone": "Europe/Berlin",
      "fonts": "Arial,DejaVu Sans,Noto Color Emoji", "canvas": "c3ab8ff13720e8ad9047dd39466b3c89"}
# canaries (tests/data/pii/canaries.txt)
CANARY_EMAIL = "zz.canary.7f3a91@example.org"
CANARY_TEXT = "Grüße vom Kanarienvogel 7f3a91, bitte nicht weitergeben"
# look-alikes that must not be reported
REQUEST_ID = "0b6a5e7c-1f0e-4c2a-9d3b-8e2f4a6c1d05"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SESSION = "a8098c1a-f86e-11da-bd1a-00112444be1e"
ORDER_16 = "4111111111111112"      # a card prefix, fails Luhn
ORDER_15 = "490154203237519"       # an IMEI prefix, fails Luhn
TS_MS = "1733530512345"
TS_US = "1733530512345670"
VERSION = "1.2.3.4"
PRICE = "1499.99"
COARSE = (52.5, 13.4)
OTHER_SHA256 = hashlib.sha256(b"hello world").hexdigest()
ICON = "icon@2x.png"
DOC_EMAIL = "support.desk@example.com"   # only in the HTML page the server sends back


def luhn_ok(digits):
    s = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        s += d
    return s % 10 == 0


assert luhn_ok(IMEI) and all(luhn_ok(c) for c in CARDS)
assert not any(luhn_ok(x) for x in (ORDER_16, ORDER_15, TS_MS, TS_US))


def _norm(e):
    return e.strip().lower().encode()


def digest(alg, kind):
    d = hashlib.new(alg, _norm(CANARY_EMAIL)).digest()
    return d.hex() if kind == "hex" else base64.b64encode(d).decode()


def b64blob(prefix, value, urlsafe=False):
    """base64 of prefix + value + '"}': the value sits at byte offset len(prefix) of the plain text."""
    raw = (prefix + value + '"}').encode()
    return (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()


def json_ascii(text):
    """text as a JSON string body with \\uXXXX escapes for non-ASCII (without the quotes)."""
    return json.dumps(text, ensure_ascii=True)[1:-1]


# ---------------------------------------------------------------- labelled leaves
class L:
    """A planted value: the wire value plus its label (type, chain, the value as labelled)."""
    def __init__(self, wire, typ, chain="", value=None, also_email=False):
        self.wire, self.typ, self.chain = wire, typ, chain
        self.value = wire if value is None else value
        self.also_email = also_email   # a canary e-mail readable as an address: an email finding too


class Obj(dict):
    """A JSON object labelled as a whole (location pair, fingerprint group)."""
    def __init__(self, typ, value, items):
        super().__init__(items)
        self.typ, self.value = typ, value


def N(wire):  # a negative
    return L(wire, "NEG")


def geo():
    return Obj("location", f"{LAT},{LON}", {"lat": LAT, "lon": LON})


def fp():
    return Obj("fingerprint", ";".join(f"{k}={v}" for k, v in FP.items()), FP)


def plain(x):
    """The JSON value without labels."""
    if isinstance(x, L):
        return x.wire
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x


def walk(x, path, out):
    """(path, L or Obj) for every label in a JSON value."""
    if isinstance(x, L):
        out.append((path, x))
    elif isinstance(x, dict):
        if isinstance(x, Obj):
            out.append((path, x))
        for k, v in x.items():
            walk(v, f"{path}.{k}", out)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            walk(v, f"{path}[{i}]", out)
    return out


# ---------------------------------------------------------------- the requests
def build_requests():
    R = []
    # 1. path segments (only types that need no field name)
    segs = ["v1", "users", L(EMAIL, "email"), "phone", L(PHONE_E164, "phone"), "imei", L(IMEI, "imei"),
            "mac", L(MAC, "mac-address"), "ip", L(CLIENT_IP, "ip-address"), "card", L(CARDS[0], "payment-card"),
            "iban", L(IBANS[0], "iban"), "note", L(urllib.parse.quote(CANARY_TEXT, safe=""), "canary", "url", CANARY_TEXT),
            "ctx", L(b64blob('{"u":"', CANARY_EMAIL, urlsafe=True), "canary", "base64url@8", CANARY_EMAIL),
            "assets", N(ICON), "v", N(VERSION), "order", N(ORDER_16)]
    R.append({"id": "path", "method": "GET", "segments": segs, "query": [], "headers": [], "cookies": [], "body": None})
    # 2. query string (values percent-encoded by the client)
    q = [("email", L(EMAIL, "email")), ("msisdn", L(PHONE_E164, "phone")), ("tel", L(PHONE_US, "phone")),
         ("phone", L(PHONE_NAT, "phone")), ("imei", L(IMEI, "imei")), ("meid", L(MEID, "meid")),
         ("idfa", L(IDFA, "advertising-id")), ("gaid", L(GAID, "advertising-id")),
         ("android_id", L(ANDROID_ID, "device-id")), ("idfv", L(IDFV, "device-id")), ("mac", L(MAC, "mac-address")),
         ("client_ip", L(CLIENT_IP, "ip-address")), ("lat", LAT), ("lon", LON),
         ("card", L(CARDS[1], "payment-card")), ("iban", L(IBANS[1], "iban")),
         ("screen", FP["screen"]), ("timezone", FP["timezone"]), ("fonts", FP["fonts"]), ("canvas", FP["canvas"]),
         ("request_id", N(REQUEST_ID)), ("order_id", N(ORDER_15)), ("ts", N(TS_MS)), ("v", N(VERSION)),
         ("price", N(PRICE)), ("digest", N(OTHER_SHA256)),
         ("ref", L(CANARY_EMAIL, "canary", "url", also_email=True)), ("q", L(CANARY_TEXT, "canary", "url")),
         ("eh", L(digest("md5", "hex"), "canary", "md5-hex", CANARY_EMAIL))]
    R.append({"id": "query", "method": "GET", "segments": ["v1", "collect"], "query": q, "headers": [], "cookies": [],
              "body": None, "objects": [("query", "location", f"{LAT},{LON}"),
                                        ("query", "fingerprint", ";".join(f"{k}={v}" for k, v in FP.items()))]})
    # 3. request headers and cookies
    h = [("X-User-Email", L(EMAIL, "email")), ("X-Phone", L(PHONE_E164, "phone")), ("X-IMEI", L(IMEI, "imei")),
         ("X-MEID", L(MEID, "meid")), ("X-IDFA", L(IDFA, "advertising-id")),
         ("X-Advertising-Id", L(GAID, "advertising-id")), ("X-Android-Id", L(ANDROID_ID, "device-id")),
         ("X-IDFV", L(IDFV, "device-id")), ("X-MAC", L(MAC, "mac-address")), ("X-Client-IP", L(CLIENT_IP, "ip-address")),
         ("X-Request-Id", N(REQUEST_ID)), ("X-Trace-Id", N(TRACE_ID)), ("X-App-Version", N(VERSION)),
         ("X-Ctx", L(b64blob('{"u":"', CANARY_EMAIL), "canary", "base64@8", CANARY_EMAIL)),
         ("X-UH", L(digest("sha256", "hex"), "canary", "sha256-hex", CANARY_EMAIL))]
    c = [("uid", L(EMAIL, "email")), ("idfa", L(IDFA, "advertising-id")), ("android_id", L(ANDROID_ID, "device-id")),
         ("card", L(CARDS[2], "payment-card")), ("session", N(SESSION)), ("order", N(ORDER_16)),
         ("cid", L(CANARY_EMAIL.encode().hex(), "canary", "hex", CANARY_EMAIL)),
         ("_em", L(digest("md5", "base64"), "canary", "md5-base64", CANARY_EMAIL)),
         ("ctx", L(b64blob('{"ux":"', CANARY_EMAIL, urlsafe=True), "canary", "base64url@10", CANARY_EMAIL))]
    R.append({"id": "headers", "method": "GET", "segments": ["v1", "ping"], "query": [], "headers": h, "cookies": c,
              "body": None})
    # 4. JSON body (raw UTF-8)
    j = {"user": {"email": L(EMAIL, "email"), "phone": L(PHONE_NAT, "phone"), "msisdn": L(PHONE_E164, "phone"),
                  "tel": L(PHONE_US, "phone"), "ip": L(CLIENT_IP, "ip-address")},
         "device": {"imei": L(IMEI, "imei"), "meid": L(MEID, "meid"), "idfa": L(IDFA, "advertising-id"),
                    "gaid": L(GAID, "advertising-id"), "android_id": L(ANDROID_ID, "device-id"),
                    "idfv": L(IDFV, "device-id"), "mac": L(MAC, "mac-address")},
         "geo": geo(),
         "payment": {"cards": [L(c, "payment-card") for c in CARDS], "iban": L(IBANS[0], "iban")},
         "payout": {"iban": L(IBANS[1], "iban")},
         "fp": fp(),
         "meta": {"request_id": N(REQUEST_ID), "trace_id": N(TRACE_ID), "order_id": N(ORDER_16), "ts_ms": N(TS_MS),
                  "ts_us": N(TS_US), "version": N(VERSION), "price": N(PRICE), "icon": N(ICON),
                  "area": Obj("NEG", f"{COARSE[0]},{COARSE[1]}", {"lat": COARSE[0], "lon": COARSE[1]}),
                  "digest": N(OTHER_SHA256)},
         "notes": {"text": L(CANARY_TEXT, "canary", "as-is"), "alt_email": L(CANARY_EMAIL, "canary", "as-is", also_email=True),
                   "h": L(CANARY_TEXT.encode().hex(), "canary", "hex", CANARY_TEXT),
                   "blob": L(b64blob('{"uxy":"', CANARY_EMAIL), "canary", "base64@12", CANARY_EMAIL),
                   "sha1": L(digest("sha1", "hex"), "canary", "sha1-hex", CANARY_EMAIL)}}
    R.append({"id": "body-json", "method": "POST", "segments": ["v1", "events"], "query": [], "headers": [],
              "cookies": [], "body": {"kind": "json", "value": j, "ascii": False}})
    # 5. form-urlencoded body
    f = [("email", L(EMAIL, "email")), ("phone", L(PHONE_NAT, "phone")), ("imei", L(IMEI, "imei")),
         ("meid", L(MEID, "meid")), ("advertising_id", L(GAID, "advertising-id")),
         ("android_id", L(ANDROID_ID, "device-id")), ("mac", L(MAC, "mac-address")),
         ("client_ip", L(CLIENT_IP, "ip-address")), ("lat", LAT), ("lon", LON), ("card_number", L(CARDS[0], "payment-card")),
         ("iban", L(IBANS[0], "iban")), ("screen", FP["screen"]), ("timezone", FP["timezone"]),
         ("fonts", FP["fonts"]), ("canvas", FP["canvas"]),
         ("trace_id", N(TRACE_ID)), ("order_id", N(ORDER_16)), ("version", N(VERSION)), ("price", N(PRICE)),
         ("icon", N(ICON)),
         ("payload", L('{"note":"' + json_ascii(CANARY_TEXT) + '"}', "canary", "json>url", CANARY_TEXT)),
         ("blob", L(b64blob('{"u":"', CANARY_EMAIL), "canary", "base64@8>url", CANARY_EMAIL)),
         ("em", L(digest("sha256", "base64"), "canary", "sha256-base64>url", CANARY_EMAIL)),
         ("ref", L(CANARY_EMAIL, "canary", "url", also_email=True))]
    R.append({"id": "body-form", "method": "POST", "segments": ["v1", "register"], "query": [], "headers": [],
              "cookies": [], "body": {"kind": "form", "fields": f},
              "objects": [("form", "location", f"{LAT},{LON}"),
                          ("form", "fingerprint", ";".join(f"{k}={v}" for k, v in FP.items()))]})
    # 6. multipart/form-data: text parts, one JSON part, one file part
    meta = {"device": {"gaid": L(GAID, "advertising-id"), "android_id": L(ANDROID_ID, "device-id"),
                       "idfv": L(IDFV, "device-id")},
            "geo": geo(), "fp": fp(), "request_id": N(REQUEST_ID)}
    parts = [("email", L(EMAIL, "email")), ("tel", L(PHONE_US, "phone")), ("imei", L(IMEI, "imei")),
             ("idfa", L(IDFA, "advertising-id")), ("mac", L(MAC, "mac-address")), ("card", L(CARDS[1], "payment-card")),
             ("iban", L(IBANS[1], "iban")), ("session", N(SESSION)), ("order_id", N(ORDER_15)),
             ("note", L(CANARY_TEXT, "canary", "as-is")),
             ("cid", L(CANARY_EMAIL.encode().hex(), "canary", "hex", CANARY_EMAIL)),
             ("sig", L(digest("sha1", "base64"), "canary", "sha1-base64", CANARY_EMAIL))]
    R.append({"id": "multipart", "method": "POST", "segments": ["v1", "upload"], "query": [], "headers": [],
              "cookies": [], "body": {"kind": "multipart", "parts": parts, "json_part": ("meta", meta),
                                      "file_part": ("avatar", ICON, b"\x89PNG\r\n\x1a\n not really a picture\n")}})
    # 7. gzip-coded JSON body (Content-Encoding: gzip), non-ASCII as \u escapes
    g = {"batch": [{"profile": {"email": L(EMAIL, "email"), "msisdn": L(PHONE_E164, "phone")},
                    "device": {"imei": L(IMEI, "imei"), "idfa": L(IDFA, "advertising-id"),
                               "advertising_id": L(GAID, "advertising-id"), "android_id": L(ANDROID_ID, "device-id"),
                               "mac": L(MAC, "mac-address"), "ip": L(CLIENT_IP, "ip-address")},
                    "loc": geo(), "card": L(CARDS[1], "payment-card"), "iban": L(IBANS[1], "iban"), "fp": fp()}],
         "trace_id": N(TRACE_ID), "ts_us": N(TS_US), "session": N(SESSION),
         "text": L(CANARY_TEXT, "canary", "json"),
         "blob64": L(b64blob('{"uxy":"', CANARY_EMAIL, urlsafe=True), "canary", "base64url@12", CANARY_EMAIL),
         "md5": L(digest("md5", "hex"), "canary", "md5-hex", CANARY_EMAIL),
         "s256": L(digest("sha256", "base64"), "canary", "sha256-base64", CANARY_EMAIL)}
    R.append({"id": "body-gzip", "method": "POST", "segments": ["v1", "batch"], "query": [], "headers": [],
              "cookies": [], "body": {"kind": "gzip-json", "value": g, "ascii": True}})
    return R


def build_ws():
    """The client messages of one WebSocket connection (JSON text)."""
    return [
        {"type": "hello", "user": {"email": L(EMAIL, "email"), "phone": L(PHONE_NAT, "phone")},
         "device": {"imei": L(IMEI, "imei"), "meid": L(MEID, "meid"), "idfa": L(IDFA, "advertising-id"),
                    "gaid": L(GAID, "advertising-id"), "android_id": L(ANDROID_ID, "device-id"),
                    "idfv": L(IDFV, "device-id"), "mac": L(MAC, "mac-address")},
         "request_id": N(REQUEST_ID), "version": N(VERSION)},
        {"type": "state", "geo": geo(), "ip": L(CLIENT_IP, "ip-address"), "fp": fp(), "trace_id": N(TRACE_ID),
         "price": N(PRICE), "area": Obj("NEG", f"{COARSE[0]},{COARSE[1]}", {"lat": COARSE[0], "lon": COARSE[1]}),
         "ts_us": N(TS_US)},
        {"type": "pay", "card": L(CARDS[2], "payment-card"), "iban": L(IBANS[0], "iban"),
         "order_id": N(ORDER_16),
         "canary": {"text": L(CANARY_TEXT, "canary", "as-is"),
                    "b64": L(b64blob('{"u":"', CANARY_EMAIL), "canary", "base64@8", CANARY_EMAIL),
                    "sha256": L(digest("sha256", "hex"), "canary", "sha256-hex", CANARY_EMAIL),
                    "hex": L(CANARY_EMAIL.encode().hex(), "canary", "hex", CANARY_EMAIL)}},
    ]


REQUESTS = build_requests()
WS = build_ws()
HOST = "chat.deepseek.com"
DOCS_PATH = "/docs/privacy.html"
DOCS_HTML = ("<!doctype html><html><head><title>Privacy</title></head><body><h1>Privacy</h1>"
             f"<p>Questions: write to {DOC_EMAIL}. Coordinates of the office: 52.5, 13.4.</p></body></html>\n")


# ---------------------------------------------------------------- wire forms
def q(s, safe=""):
    return urllib.parse.quote(str(s), safe=safe)


def scalar(v):
    v = v.wire if isinstance(v, L) else v
    return v if isinstance(v, str) else json.dumps(v)


def target(r):
    p = "/" + "/".join(scalar(s) for s in r["segments"])
    if r["query"]:
        p += "?" + "&".join(f"{k}={q(scalar(v))}" for k, v in r["query"])
    return p


def json_text(b):
    return json.dumps(plain(b["value"]), ensure_ascii=b["ascii"], separators=(",", ":"))


def cookie_header(r):
    return "; ".join(f"{k}={scalar(v)}" for k, v in r["cookies"])


BOUNDARY = "----flowauditPiiBoundary7f3a91"


def body_bytes(r):
    """(content type, extra headers, body bytes) as curl and http.client send them."""
    b = r["body"]
    if b is None:
        return None, [], b""
    if b["kind"] == "json":
        return "application/json", [], json_text(b).encode()
    if b["kind"] == "gzip-json":
        return "application/json", [("Content-Encoding", "gzip")], gzip.compress(json_text(b).encode(), mtime=0)
    if b["kind"] == "form":
        return ("application/x-www-form-urlencoded", [],
                "&".join(f"{k}={q(scalar(v))}" for k, v in b["fields"]).encode())
    if b["kind"] == "multipart":
        out = b""
        for k, v in b["parts"]:
            out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{scalar(v)}\r\n").encode()
        name, val = b["json_part"]
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n"
                f"Content-Type: application/json\r\n\r\n").encode()
        out += json.dumps(plain(val), separators=(",", ":")).encode() + b"\r\n"
        name, fname, data = b["file_part"]
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{fname}\"\r\n"
                f"Content-Type: image/png\r\n\r\n").encode() + data + b"\r\n"
        out += f"--{BOUNDARY}--\r\n".encode()
        return f"multipart/form-data; boundary={BOUNDARY}", [], out
    raise ValueError(b["kind"])


def ws_texts():
    return [json.dumps(plain(m), ensure_ascii=False, separators=(",", ":")) for m in WS]


# ---------------------------------------------------------------- labels
def request_labels(r):
    """(place, field, L-or-Obj-like (typ, chain, value, also_email)) for one request."""
    out = []
    path = target(r).split("?")[0]
    for i, s in enumerate(r["segments"]):
        if isinstance(s, L):
            out.append(("path", f"path[{i}]", s))
    for k, v in r["query"]:
        if isinstance(v, L):
            out.append(("query", f"query.{k}", v))
    for k, v in r["headers"]:
        out.append(("header", f"header.{k.lower()}", v))
    for k, v in r["cookies"]:
        out.append(("cookie", f"header.cookie:{k}", v))
    for o_field, typ, value in r.get("objects", []):
        place = "query" if o_field == "query" else "body-form"
        out.append((place, o_field, Obj(typ, value, {})))
    b = r["body"]
    if b is not None:
        if b["kind"] in ("json", "gzip-json"):
            out += [("body-json", p, x) for p, x in walk(b["value"], "body", [])]
        elif b["kind"] == "form":
            out += [("body-form", f"form.{k}", v) for k, v in b["fields"] if isinstance(v, L)]
        elif b["kind"] == "multipart":
            out += [("multipart", f"multipart.{k}", v) for k, v in b["parts"]]
            name, val = b["json_part"]
            out += [("multipart", p, x) for p, x in walk(val, f"multipart.{name}", [])]
            out.append(("multipart", f"multipart.{b['file_part'][0]}", N(b["file_part"][1])))
    return f"{r['method']} {path}", out


def label_rows(capture, protocol, with_http=True, with_ws=False, ws_protocol=None, ws_path="/ws/events",
               with_docs=True):
    rows = []

    def emit(proto, place, field, x, req):
        if isinstance(x, Obj):
            rows.append((capture, proto, place, field, x.typ, "", x.value, req))
            return
        rows.append((capture, proto, place, field, x.typ, x.chain if x.typ == "canary" else "", x.value, req))
        if x.also_email:
            rows.append((capture, proto, place, field, "email", "", x.value, req))

    if with_http:
        for r in REQUESTS:
            req, labs = request_labels(r)
            for place, field, x in labs:
                emit(protocol, place, field, x, req)
    if with_docs:
        rows.append((capture, protocol, "response", "response.body", "NEG", "", DOC_EMAIL, f"GET {DOCS_PATH}"))
    if with_ws:
        for i, m in enumerate(WS):
            for p, x in walk(m, f"ws[{i}]", []):
                emit(ws_protocol, "ws", p, x, f"GET {ws_path}")
    return rows


HEADER = "#capture\tprotocol\tplace\tfield\ttype\tencoding\tvalue\trequest"
