"""Clients, servers and the label writer of scripts/gen/pii-captures (what they send: pii_plan.py).

  pii_clients.py curl ADDR http|https [curl options...]   one curl, one connection (--next per request)
  pii_clients.py pyclient ADDR KEYLOG                       Python http.client over TLS, key log written
  pii_clients.py ws URL ADDR                                python3-websockets client, the WS messages
  pii_clients.py page DIR                                   index.html + app.js for headless Chromium
  pii_clients.py server PORT [CERT KEY]                     HTTP/1.1 server (TLS when CERT/KEY given)
  pii_clients.py wsserver PORT [CERT KEY]                   WebSocket echo server (TLS when CERT/KEY given)
  pii_clients.py labels FILE ROWSPEC...                     labels.tsv (ROWSPEC: capture:protocol:what)
"""
import json
import os
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pii_plan as P  # noqa: E402


def curl(addr, scheme, extra):
    port = 443 if scheme == "https" else 80
    args = ["curl", "-sS"]
    tmp = os.environ.get("PII_WORK", "/tmp")
    for n, r in enumerate(P.REQUESTS + [None]):
        if n:
            args.append("--next")   # same connection; options are reset, so given again
        args += extra + ["--resolve", f"{P.HOST}:{port}:{addr}", "-o", "/dev/null"]
        if scheme == "https":
            args.append("-k")
        if r is None:
            args.append(f"{scheme}://{P.HOST}{P.DOCS_PATH}")
            break
        for k, v in r["headers"]:
            args += ["-H", f"{k}: {P.scalar(v)}"]
        if r["cookies"]:
            args += ["-H", "Cookie: " + P.cookie_header(r)]
        b = r["body"]
        if b is not None and b["kind"] == "multipart":
            # curl builds the multipart body itself (its own boundary)
            for k, v in b["parts"]:
                args += ["--form-string", f"{k}={P.scalar(v)}"]
            name, val = b["json_part"]
            jf = os.path.join(tmp, "meta.json")
            with open(jf, "w") as f:
                f.write(json.dumps(P.plain(val), separators=(",", ":")))
            args += ["-F", f"{name}=<{jf};type=application/json"]
            name, fname, data = b["file_part"]
            ff = os.path.join(tmp, "avatar.bin")
            with open(ff, "wb") as f:
                f.write(data)
            args += ["-F", f"{name}=@{ff};filename={fname};type=image/png"]
        elif b is not None:
            ctype, hdrs, data = P.body_bytes(r)
            bf = os.path.join(tmp, f"body-{r['id']}.bin")
            with open(bf, "wb") as f:
                f.write(data)
            args += ["-H", f"Content-Type: {ctype}"] + sum((["-H", f"{k}: {v}"] for k, v in hdrs), [])
            args += ["--data-binary", f"@{bf}"]
        args.append(f"{scheme}://{P.HOST}{P.target(r)}")
    sys.exit(subprocess.call(args))


def pyclient(addr, keylog):
    import http.client
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = keylog
    conn = http.client.HTTPSConnection(P.HOST, 443, context=ctx)
    # connect to the namespace address with the service's name as SNI and Host
    conn.sock = ctx.wrap_socket(socket.create_connection((addr, 443)), server_hostname=P.HOST)
    for r in P.REQUESTS + [None]:
        if r is None:
            conn.request("GET", P.DOCS_PATH)
        else:
            ctype, hdrs, data = P.body_bytes(r)
            headers = {k: P.scalar(v) for k, v in r["headers"]}
            if r["cookies"]:
                headers["Cookie"] = P.cookie_header(r)
            if ctype:
                headers["Content-Type"] = ctype
            headers.update(dict(hdrs))
            conn.request(r["method"], P.target(r), body=data if r["body"] else None, headers=headers)
        resp = conn.getresponse()
        resp.read()
    conn.close()


def ws_client(url, addr):
    import asyncio
    import websockets

    async def run():
        kw = {}
        if url.startswith("wss:"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.keylog_filename = os.environ["SSLKEYLOGFILE"]
            kw = {"ssl": ctx, "server_hostname": P.HOST}
        port = 8443 if url.startswith("wss:") else 8080
        async with websockets.connect(url, host=addr, port=port, **kw) as ws:
            for m in P.ws_texts():
                await ws.send(m)
                await ws.recv()
    asyncio.run(run())


def page(d):
    """The page Chromium loads: the same requests through fetch(), XMLHttpRequest, document.cookie,
    FormData, CompressionStream and a WebSocket (wss on port 8443)."""
    reqs = []
    for r in P.REQUESTS:
        d_ = {"id": r["id"], "method": r["method"], "url": P.target(r),
              "headers": [[k, P.scalar(v)] for k, v in r["headers"]],
              "cookies": [[k, P.scalar(v)] for k, v in r["cookies"]]}
        b = r["body"]
        if b is None:
            d_["body"] = None
        elif b["kind"] in ("json", "gzip-json"):
            d_["body"] = {"kind": b["kind"], "text": P.json_text(b)}
        elif b["kind"] == "form":
            d_["body"] = {"kind": "form", "text": P.body_bytes(r)[2].decode()}
        else:
            name, val = b["json_part"]
            fname_, fname, data = b["file_part"]
            d_["body"] = {"kind": "multipart", "parts": [[k, P.scalar(v)] for k, v in b["parts"]],
                          "json_part": [name, json.dumps(P.plain(val), separators=(",", ":"))],
                          "file_part": [fname_, fname, data.decode("latin-1")]}
        reqs.append(d_)
    spec = {"requests": reqs, "ws": P.ws_texts(), "docs": P.DOCS_PATH,
            "wsurl": f"wss://{P.HOST}:8443/ws/events"}
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write('<!doctype html><html><head><meta charset="utf-8"><title>pii</title>'
                '<link rel="icon" href="data:,"></head><body><script src="/app.js"></script></body></html>\n')
    with open(os.path.join(d, "app.js"), "w", encoding="utf-8") as f:
        f.write("const SPEC = " + json.dumps(spec, ensure_ascii=False) + ";\n" + APP_JS)


APP_JS = r"""
// Sends every request of SPEC one after the other, then the WebSocket messages, then GET /done.
function xhr(method, url, headers, body) {
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open(method, url);
    for (const [k, v] of headers) x.setRequestHeader(k, v);
    x.onloadend = () => resolve();
    x.send(body);
  });
}
async function gzip(text) {
  const s = new Blob([new TextEncoder().encode(text)]).stream().pipeThrough(new CompressionStream('gzip'));
  return await new Response(s).arrayBuffer();
}
async function main() {
  for (const r of SPEC.requests) {
    for (const [k, v] of r.cookies) document.cookie = k + '=' + v + '; path=/v1/ping';
    const headers = r.headers.slice();
    const b = r.body;
    if (b && b.kind === 'form') {           // XMLHttpRequest for this one
      await xhr(r.method, r.url, headers.concat([['Content-Type', 'application/x-www-form-urlencoded']]), b.text);
      continue;
    }
    let body;
    if (b && b.kind === 'json') { headers.push(['Content-Type', 'application/json']); body = b.text; }
    if (b && b.kind === 'gzip-json') {
      headers.push(['Content-Type', 'application/json'], ['Content-Encoding', 'gzip']);
      body = await gzip(b.text);
    }
    if (b && b.kind === 'multipart') {
      body = new FormData();
      for (const [k, v] of b.parts) body.append(k, v);
      body.append(b.json_part[0], new Blob([b.json_part[1]], {type: 'application/json'}));
      const bytes = Uint8Array.from(b.file_part[2], (c) => c.charCodeAt(0));
      body.append(b.file_part[0], new Blob([bytes], {type: 'image/png'}), b.file_part[1]);
    }
    await fetch(r.url, {method: r.method, headers: headers, body: body}).then((x) => x.arrayBuffer()).catch(() => {});
  }
  await fetch(SPEC.docs).then((x) => x.text()).catch(() => {});
  await new Promise((resolve) => {
    const ws = new WebSocket(SPEC.wsurl);
    let i = 0;
    const next = () => { if (i < SPEC.ws.length) ws.send(SPEC.ws[i++]); else { ws.close(); resolve(); } };
    ws.onopen = next;
    ws.onmessage = next;
    ws.onerror = () => resolve();
    setTimeout(resolve, 8000);
  });
  await new Promise((r) => setTimeout(r, 300));
  await fetch('/done').catch(() => {});
}
main();
"""


def server(port, cert=None, key=None):
    import http.server
    www = os.environ.get("PII_WWW", ".")
    marker = os.environ.get("PII_DONE", "")

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, code, ctype, body):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?")[0]
            if path == P.DOCS_PATH:
                self.answer(200, "text/html; charset=utf-8", P.DOCS_HTML.encode())
            elif path in ("/", "/index.html", "/app.js"):
                name = "index.html" if path != "/app.js" else "app.js"
                ctype = "text/html; charset=utf-8" if name.endswith("html") else "text/javascript; charset=utf-8"
                with open(os.path.join(www, name), "rb") as f:
                    self.answer(200, ctype, f.read())
            elif path == "/done":
                self.answer(204, "text/plain", b"")
                if marker:
                    open(marker, "w").close()
            else:
                self.answer(200, "application/json", b'{"ok":true}')

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(n)
            self.answer(200, "application/json", b'{"ok":true}')

        def log_message(self, *a):
            sys.stderr.write("%s\n" % (a[1] if len(a) > 1 else a))

    srv = http.server.ThreadingHTTPServer(("0.0.0.0", port), H)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def wsserver(port, cert=None, key=None):
    import asyncio
    import websockets

    async def echo(ws, path=None):
        async for m in ws:
            await ws.send(m)

    async def run():
        kw = {}
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            kw["ssl"] = ctx
        async with websockets.serve(echo, "0.0.0.0", port, **kw):
            await asyncio.Future()
    asyncio.run(run())


def labels(out, specs):
    rows = []
    for s in specs:
        capture, proto, what = s.split(":")
        if what == "http":
            rows += P.label_rows(capture, proto)
        elif what == "ws":
            rows += P.label_rows(capture, None, with_http=False, with_ws=True, ws_protocol=proto, with_docs=False)
        elif what == "http+wss":
            rows += P.label_rows(capture, proto, with_ws=True, ws_protocol="WebSocket+TLS")
    with open(out, "w", encoding="utf-8") as f:
        f.write(P.HEADER + "\n")
        for r in rows:
            assert not any("\t" in str(x) or "\n" in str(x) for x in r)
            f.write("\t".join(str(x) for x in r) + "\n")


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "curl":
        curl(a[0], a[1], a[2:])
    elif cmd == "pyclient":
        pyclient(a[0], a[1])
    elif cmd == "ws":
        ws_client(a[0], a[1])
    elif cmd == "page":
        page(a[0])
    elif cmd == "server":
        server(int(a[0]), *a[1:])
    elif cmd == "wsserver":
        wsserver(int(a[0]), *a[1:])
    elif cmd == "labels":
        labels(a[0], a[1:])
    else:
        sys.exit(__doc__)
