// The structure walkers (analysis/inspect/fields.h): JSON, forms, queries, cookies, multipart, text,
// DNS names, and every limit.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "analysis/inspect/fields.h"

namespace inspect = flowaudit::analysis::inspect;

namespace {

struct Got {
  std::string path, name, value, decoding;
};
struct GotObject {
  std::string path;
  std::vector<std::pair<std::string, std::string>> members;
};

class Collect final : public inspect::FieldSink {
 public:
  std::vector<Got> fields;
  std::vector<GotObject> objects;
  void on_field(const inspect::Field& f) override {
    fields.push_back({std::string(f.path), std::string(f.name), std::string(f.value), std::string(f.decoding)});
  }
  void on_object(std::string_view path, std::span<const inspect::NamedScalar> members) override {
    GotObject o{std::string(path), {}};
    for (const auto& m : members) o.members.emplace_back(std::string(m.name), std::string(m.value));
    objects.push_back(std::move(o));
  }
  // The value of the first field at `path`, or "<none>".
  std::string at(std::string_view path) const {
    for (const auto& f : fields)
      if (f.path == path) return f.value;
    return "<none>";
  }
  const Got* find(std::string_view path) const {
    for (const auto& f : fields)
      if (f.path == path) return &f;
    return nullptr;
  }
};

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inspect::WalkStats body(Collect& c, std::string_view ct, std::string_view b, std::string_view prefix = "body",
                        const inspect::WalkLimits& lim = {}) {
  return inspect::walk_body(ct, bytes(b), prefix, c, lim);
}

}  // namespace

TEST_SUITE("inspect") {

TEST_CASE("fields: JSON nested objects and arrays, paths, names, objects") {
  Collect c;
  const auto st = body(c, "application/json; charset=utf-8",
                       R"({"Device":{"IDFA":"6D92078A-8246-4BA4-AE5B-76104861E7DC","os":"iOS"},)"
                       R"("messages":[{"role":"user","content":"hi"},{"content":"there"}],"tags":["a",["b"]],)"
                       R"("ok":true,"none":null})");
  CHECK_FALSE(st.malformed);
  CHECK_FALSE(st.cut);
  CHECK(c.at("body.Device.IDFA") == "6D92078A-8246-4BA4-AE5B-76104861E7DC");
  REQUIRE(c.find("body.Device.IDFA"));
  CHECK(c.find("body.Device.IDFA")->name == "idfa");
  CHECK(c.at("body.messages[0].content") == "hi");
  CHECK(c.at("body.messages[1].content") == "there");
  CHECK(c.at("body.tags[0]") == "a");
  CHECK(c.find("body.tags[0]")->name == "tags");
  CHECK(c.at("body.tags[1][0]") == "b");
  CHECK(c.find("body.tags[1][0]")->name == "tags");
  CHECK(c.at("body.ok") == "true");
  CHECK(c.find("body.none") == nullptr);  // nulls are not fields
  CHECK(st.fields == c.fields.size());
  CHECK(c.fields.size() == 8);
  // Objects with their scalar members, inner first.
  REQUIRE(c.objects.size() == 4);
  CHECK(c.objects[0].path == "body.Device");
  CHECK(c.objects[0].members == std::vector<std::pair<std::string, std::string>>{
                                    {"idfa", "6D92078A-8246-4BA4-AE5B-76104861E7DC"}, {"os", "iOS"}});
  CHECK(c.objects[1].path == "body.messages[0]");
  CHECK(c.objects[3].path == "body");
  CHECK(c.objects[3].members == std::vector<std::pair<std::string, std::string>>{{"ok", "true"}});
  CHECK(st.objects == 4);
}

TEST_CASE("fields: JSON escapes are undone and named, numbers keep their text") {
  Collect c;
  body(c, "application/json",
       R"({"e":"a\u0040b.com","plain":"x@y.z","k\"ey":"v","lat":48.858370,"lon":-2.29450e0,"n":12345678901234567890123,"i":-7})");
  CHECK(c.at("body.e") == "a@b.com");
  CHECK(c.find("body.e")->decoding == "json");
  CHECK(c.find("body.plain")->decoding == "");
  CHECK(c.at("body.k\"ey") == "v");
  CHECK(c.find("body.k\"ey")->name == "k\"ey");
  CHECK(c.at("body.lat") == "48.858370");
  CHECK(c.at("body.lon") == "-2.29450e0");
  CHECK(c.at("body.n") == "12345678901234567890123");
  CHECK(c.at("body.i") == "-7");
  REQUIRE(c.objects.size() == 1);
  CHECK(c.objects[0].members[3] == std::pair<std::string, std::string>{"lat", "48.858370"});
}

TEST_CASE("fields: JSON sniffed, NDJSON, root scalars, WebSocket prefix") {
  Collect c;
  body(c, "text/plain", "  {\"a\":1}\n{\"a\":2}\n");
  CHECK(c.at("body.a") == "1");
  CHECK(c.at("body#1.a") == "2");
  Collect w;
  body(w, "", R"({"text":"hello"})", "ws[3]");
  CHECK(w.at("ws[3].text") == "hello");
  CHECK(w.find("ws[3].text")->name == "text");
  Collect r;
  body(r, "application/json", "\"just a string\"");
  CHECK(r.at("body") == "just a string");
}

TEST_CASE("fields: JSON embedded in a string or a query value is walked, one level") {
  Collect c;
  body(c, "application/json",
       R"({"event":"login","data":"{\"email\":\"a@b.c\",\"geo\":{\"lat\":\"1.5\"},\"n\":\"x\\u0041\",\"deeper\":\"{\\\"k\\\":1}\"}","list":["[3]"]})");
  CHECK(c.at("body.data") == R"({"email":"a@b.c","geo":{"lat":"1.5"},"n":"x\u0041","deeper":"{\"k\":1}"})");
  CHECK(c.find("body.data")->decoding == "json");
  CHECK(c.at("body.data.email") == "a@b.c");
  CHECK(c.find("body.data.email")->decoding == "json");
  CHECK(c.find("body.data.email")->name == "email");
  CHECK(c.at("body.data.geo.lat") == "1.5");
  CHECK(c.at("body.data.n") == "xA");
  CHECK(c.find("body.data.n")->decoding == "json+json");
  CHECK(c.at("body.data.deeper") == R"({"k":1})");
  CHECK(c.find("body.data.deeper.k") == nullptr);  // one level only
  CHECK(c.at("body.list[0][0]") == "3");
  CHECK(c.at("body.event") == "login");
  bool geo = false;
  for (const auto& o : c.objects) geo = geo || (o.path == "body.data.geo" && o.members.size() == 1);
  CHECK(geo);
  Collect q;
  inspect::walk_target("/t?event=%7B%22id%22%3A%22u1%22%7D&x={\"y\":2}", q);
  CHECK(q.at("query.event.id") == "u1");
  CHECK(q.find("query.event.id")->decoding == "url");
  CHECK(q.at("query.x.y") == "2");
  CHECK(q.find("query.x.y")->decoding == "");
  Collect bad;
  const auto st = body(bad, "application/json", R"({"s":"{not json}"})");
  CHECK_FALSE(st.malformed);
  CHECK(bad.at("body.s") == "{not json}");
}

TEST_CASE("fields: malformed JSON keeps what was walked and the text") {
  Collect c;
  const auto st = body(c, "application/json", R"({"a":"x","b":[1,2,}, "c": "lost"})");
  CHECK(st.malformed);
  CHECK(c.at("body.a") == "x");
  CHECK(c.at("body.b[0]") == "1");
  CHECK(c.find("body.c") == nullptr);
  CHECK(c.at("body") == R"({"a":"x","b":[1,2,}, "c": "lost"})");  // the whole text, for the rest
}

TEST_CASE("fields: deep nesting is cut, the rest still walked") {
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "{\"k\":";
  deep += "\"v\"";
  for (int i = 0; i < 70; ++i) deep += "}";
  Collect c;
  const std::string doc = "{\"before\":1,\"d\":" + deep + ",\"after\":2}";
  auto st = body(c, "application/json", doc);
  CHECK(st.cut);
  CHECK_FALSE(st.malformed);
  CHECK(c.at("body.before") == "1");
  CHECK(c.at("body.after") == "2");
  CHECK(c.fields.size() == 2);  // "v" is deeper than 64 levels
  // Shallower limit: three levels walked.
  Collect s;
  st = body(s, "application/json", R"({"a":{"b":{"c":"x","d":{"e":"y"}}}})", "body", {.depth = 3});
  CHECK(st.cut);
  CHECK(s.at("body.a.b.c") == "x");
  CHECK(s.find("body.a.b.d.e") == nullptr);
  // Far past what the parser reads: stops, cut, not malformed.
  std::string very(5000, '[');
  Collect v;
  st = body(v, "application/json", very + std::string(5000, ']'));
  CHECK(st.cut);
  CHECK_FALSE(st.malformed);
}

TEST_CASE("fields: query and path, decoding") {
  Collect c;
  const auto st = inspect::walk_target(
      "/v1/users/jane%40example.com/a+b//x?email=jane%40example.com&q=hello+world&bad=%zz%4&flag&Name=%E6%97%A5#frag", c);
  CHECK_FALSE(st.cut);
  CHECK(c.at("path[0]") == "v1");
  CHECK(c.at("path[2]") == "jane@example.com");
  CHECK(c.find("path[2]")->decoding == "url");
  CHECK(c.find("path[0]")->decoding == "");
  CHECK(c.at("path[3]") == "a+b");  // '+' is not a space in a path
  CHECK(c.at("path[4]") == "x");
  CHECK(c.at("query.email") == "jane@example.com");
  CHECK(c.find("query.email")->name == "email");
  CHECK(c.find("query.email")->decoding == "url");
  CHECK(c.at("query.q") == "hello world");
  CHECK(c.at("query.bad") == "%zz%4");  // bad sequences kept as they are
  CHECK(c.find("query.bad")->decoding == "");
  CHECK(c.at("query[3]") == "flag");
  CHECK(c.find("query[3]")->name == "");
  CHECK(c.at("query.Name") == "\xE6\x97\xA5");
  CHECK(c.find("query.Name")->name == "name");
  REQUIRE(c.objects.size() == 1);
  CHECK(c.objects[0].path == "query");
  CHECK(c.objects[0].members.size() == 5);
  Collect a;
  inspect::walk_target("https://h.example:443/p/q?x=1", a);
  CHECK(a.at("path[0]") == "p");
  CHECK(a.at("path[1]") == "q");
  CHECK(a.at("query.x") == "1");
  Collect au;
  inspect::walk_target("h.example:443", au);
  CHECK(au.fields.empty());
}

TEST_CASE("fields: form body") {
  Collect c;
  body(c, "application/x-www-form-urlencoded", "email=a%2Bb%40c.de&pw=x+y&empty=&&z");
  CHECK(c.at("form.email") == "a+b@c.de");
  CHECK(c.at("form.pw") == "x y");
  CHECK(c.at("form.empty") == "");
  CHECK(c.at("form[3]") == "z");  // empty pieces are not counted
  REQUIRE(c.objects.size() == 1);
  CHECK(c.objects[0].path == "form");
  Collect w;
  body(w, "application/x-www-form-urlencoded", "a=1", "ws[0]");
  CHECK(w.at("ws[0].a") == "1");
}

TEST_CASE("fields: headers and cookies") {
  const std::vector<std::pair<std::string_view, std::string_view>> h = {
      {":path", "/secret"}, {"User-Agent", "App/1.0"}, {"Cookie", "uid=42; sess=abc=def ; flag"}, {"X-Tz", "Europe/Paris"}};
  Collect c;
  const auto st = inspect::walk_headers(h, c);
  CHECK_FALSE(st.cut);
  CHECK(c.find("header.:path") == nullptr);
  CHECK(c.at("header.user-agent") == "App/1.0");
  CHECK(c.find("header.user-agent")->name == "user-agent");
  CHECK(c.at("header.cookie:uid") == "42");
  CHECK(c.find("header.cookie:uid")->name == "uid");
  CHECK(c.at("header.cookie:sess") == "abc=def");
  CHECK(c.at("header.cookie:") == "flag");
  CHECK(c.at("header.x-tz") == "Europe/Paris");
  REQUIRE(c.objects.size() == 2);
  CHECK(c.objects[0].path == "header.cookie");
  CHECK(c.objects[0].members.size() == 3);
  CHECK(c.objects[1].path == "header");
  CHECK(c.objects[1].members == std::vector<std::pair<std::string, std::string>>{{"user-agent", "App/1.0"},
                                                                                  {"x-tz", "Europe/Paris"}});
}

TEST_CASE("fields: multipart/form-data with a JSON part, a text part and a binary file") {
  const std::string b =
      "preamble\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"meta\"\r\n"
      "Content-Type: application/json\r\n"
      "\r\n"
      "{\"email\":\"a@b.c\",\"loc\":{\"lat\":1.2345}}\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"note\"\r\n"
      "\r\n"
      "hello\r\nsecond line\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"file1\"; filename=\"Jane Doe.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n"
      "\r\n" +
      std::string("\xff\xd8\xff\xe0\x00\x10JFIF\x00", 11) +
      "\r\n--XyZ--\r\nepilogue";
  Collect c;
  const auto st = body(c, "multipart/form-data; boundary=\"XyZ\"", b);
  CHECK_FALSE(st.malformed);
  CHECK(c.at("multipart.meta.email") == "a@b.c");
  CHECK(c.at("multipart.meta.loc.lat") == "1.2345");
  CHECK(c.at("multipart.note") == "hello\r\nsecond line");
  CHECK(c.at("multipart.file1:filename") == "Jane Doe.jpg");
  CHECK(c.find("multipart.file1") == nullptr);
  CHECK(st.skipped == 1);
  // No close delimiter: malformed, the parts seen are kept.
  Collect m;
  const auto st2 = body(m, "multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv");
  CHECK(st2.malformed);
  CHECK(m.at("multipart.a") == "v");
  // Quoted parameters with ';' and escapes inside.
  Collect q;
  body(q, "multipart/form-data; charset=utf-8; boundary=\"a;b\"",
       "--a;b\r\nContent-Disposition: form-data; filename=\"x;\\\"y\\\".txt\"; name=\"up\"\r\n\r\ntext\r\n--a;b--\r\n");
  CHECK(q.at("multipart.up:filename") == "x;\"y\".txt");
  CHECK(q.at("multipart.up") == "text");
  // No boundary parameter.
  Collect n;
  CHECK(body(n, "multipart/form-data", b).malformed);
}

TEST_CASE("fields: text body, binary body skipped") {
  Collect c;
  auto st = body(c, "text/plain", "héllo wörld\n");
  CHECK(c.at("body") == "héllo wörld\n");
  CHECK(c.find("body")->name == "");
  Collect b;
  st = body(b, "application/octet-stream", std::string("ab\x00\x01 cd", 7));
  CHECK(b.fields.empty());
  CHECK(st.skipped == 1);
  Collect l;
  st = body(l, "", "caf\xe9");  // Latin-1, not UTF-8
  CHECK(l.fields.empty());
  CHECK(st.skipped == 1);
}

TEST_CASE("fields: DNS labels") {
  Collect c;
  const auto st = inspect::walk_dns_name("6a616e65.x1.exfil.example.com.", c);
  CHECK(st.fields == 6);
  CHECK(c.at("dns.label[0]") == "6a616e65");
  CHECK(c.at("dns.label[4]") == "com");
  CHECK(c.at("dns.name") == "6a616e65.x1.exfil.example.com");
}

TEST_CASE("fields: limits — fields, bytes, path length") {
  std::string many = "[";
  for (int i = 0; i < 100; ++i) many += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  many += "]";
  Collect c;
  auto st = body(c, "application/json", many, "body", {.max_fields = 10});
  CHECK(st.cut);
  CHECK(st.fields == 10);
  CHECK(c.fields.size() == 10);
  CHECK_FALSE(st.malformed);
  // Bytes: a body cut by the limit is read as far as it goes, neither whole nor malformed.
  Collect b;
  st = body(b, "application/json", R"({"a":"1","b":"2","c":"3"})", "body", {.max_bytes = 12});
  CHECK(st.cut);
  CHECK_FALSE(st.malformed);
  CHECK(st.bytes == 12);
  CHECK(b.at("body.a") == "1");
  CHECK(b.find("body.b") == nullptr);
  Collect t;
  st = body(t, "text/plain", "0123456789", "body", {.max_bytes = 4});
  CHECK(st.cut);
  CHECK(t.at("body") == "0123");
  Collect q;
  st = inspect::walk_target("/a?x=1&y=2", q, {.max_fields = 2});
  CHECK(st.cut);
  CHECK(q.fields.size() == 2);
  // Path length.
  Collect p;
  const std::string key(300, 'k');
  st = body(p, "application/json", "{\"" + key + "\":{\"x\":\"v\"}}", "body", {.max_path = 32});
  CHECK(st.cut);
  REQUIRE(p.fields.size() == 1);
  CHECK(p.fields[0].path.size() <= 32);
  CHECK(p.fields[0].value == "v");
  CHECK(p.fields[0].name == "x");
  // Multipart parts.
  std::string parts;
  for (int i = 0; i < 300; ++i) parts += "--B\r\nContent-Disposition: form-data; name=p" + std::to_string(i) + "\r\n\r\nv\r\n";
  parts += "--B--\r\n";
  Collect mp;
  st = body(mp, "multipart/form-data; boundary=B", parts);
  CHECK(st.cut);
  CHECK(mp.fields.size() == 256);
}

TEST_CASE("fields: pathological inputs stay linear") {
  // A part header of half a megabyte of ';' (parameter parsing), a form of '&', a JSON of small members.
  const std::string semis(1 << 19, ';');
  Collect c;
  auto st = body(c, "multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data" + semis + "\r\n\r\nv\r\n--B--");
  CHECK(c.at("multipart[0]") == "v");
  Collect f;
  st = body(f, "application/x-www-form-urlencoded", std::string(1 << 19, '&') + "a=1");
  CHECK(f.at("form.a") == "1");
  std::string obj = "{";
  for (int i = 0; i < 100000; ++i) obj += "\"k\":1,";
  obj += "\"end\":2}";
  Collect j;
  st = body(j, "application/json", obj);
  CHECK(st.cut);  // 4096 fields
  CHECK(j.fields.size() == 4096);
  CHECK(j.objects.empty());  // the object never ended within the limit
}

}  // TEST_SUITE
