// Issue 14 item 5: no name is claimed by the purpose-specific entries of two companies, and a sample
// of names per category resolves to the company expected.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analysis/enrich/service_catalog.h"

namespace enrich = flowaudit::analysis::enrich;
using enrich::Category;
using enrich::CatalogError;
using enrich::Service;
using enrich::ServiceCatalog;

namespace {

// company-domain, cdn and cloud are the fallback beneath purpose-specific entries: a purpose-specific
// host of one company under another company's CDN or cloud domain is how the catalog is meant to work.
bool is_fallback(Category c) {
  return c == Category::kCompanyDomain || c == Category::kCdn || c == Category::kCloud;
}

std::string owner(const Service& s) { return s.company.empty() ? s.operator_name : s.company; }

// Every name (host or domain) of a purpose-specific entry that a domain of another company's
// purpose-specific entry also covers (equal to it or beneath it): "NAME: A (company) and B (company)".
std::vector<std::string> cross_company_claims(const ServiceCatalog& catalog) {
  std::unordered_map<std::string_view, const Service*> domains;
  for (const auto& s : catalog.services()) {
    if (is_fallback(s.category)) continue;
    for (const auto& d : s.domains) domains.emplace(d, &s);
  }
  std::vector<std::string> out;
  for (const auto& s : catalog.services()) {
    if (is_fallback(s.category)) continue;
    const auto check = [&](std::string_view name, bool itself) {
      std::size_t i = 0;
      if (!itself) {
        i = name.find('.');
        if (i == std::string_view::npos) return;
        ++i;
      }
      for (;;) {
        const auto it = domains.find(name.substr(i));
        if (it != domains.end() && it->second != &s && owner(*it->second) != owner(s)) {
          out.push_back(std::string(name) + ": " + s.id + " (" + owner(s) + ") and " + it->second->id + " (" +
                        owner(*it->second) + ")");
        }
        const std::size_t dot = name.find('.', i);
        if (dot == std::string_view::npos) break;
        i = dot + 1;
      }
    };
    for (const auto& h : s.hosts) check(h, true);
    for (const auto& d : s.domains) check(d, false);
  }
  return out;
}

ServiceCatalog builtin() {
  std::vector<CatalogError> errors;
  auto c = ServiceCatalog::load_default(std::filesystem::path(FLOWAUDIT_SOURCE_DIR) / "data", errors);
  for (const auto& e : errors) MESSAGE(e.to_string());
  REQUIRE(c.has_value());
  return std::move(*c);
}

}  // namespace

TEST_SUITE("catalog claims") {
  TEST_CASE("the check finds a host claimed by two companies' purpose-specific entries") {
    ServiceCatalog c;
    std::vector<CatalogError> errors;
    REQUIRE(c.add_text(R"(services:
  - {id: a, name: A, category: telemetry, operator: A Ltd., jurisdiction: CN, domains: [a.example], source: t}
  - {id: b, name: B, category: ads, operator: B Inc., jurisdiction: US, hosts: [ads.a.example], source: t}
  - {id: c, name: C, category: ai-api, operator: C Inc., jurisdiction: US, domains: [api.a.example], source: t}
  - {id: d, name: D, category: cdn, operator: D Inc., jurisdiction: US, domains: [d.example], source: t}
  - {id: e, name: E, category: ai-chat, operator: E Inc., jurisdiction: US, hosts: [e.d.example], source: t}
  - {id: f, name: F, category: ads, operator: A Ltd., jurisdiction: CN, hosts: [x.a.example], source: t}
)",
                       "t.yaml", enrich::Layer::kBuiltIn, errors));
    const auto claims = cross_company_claims(c);
    REQUIRE(claims.size() == 2);
    CHECK(claims[0] == "ads.a.example: b (B Inc.) and a (A Ltd.)");
    CHECK(claims[1] == "api.a.example: c (C Inc.) and a (A Ltd.)");
  }

  TEST_CASE("no name is claimed by the purpose-specific entries of two companies") {
    const ServiceCatalog c = builtin();
    for (const auto& claim : cross_company_claims(c)) FAIL_CHECK(claim);
  }

  TEST_CASE("a sample of names per category resolves to the expected company") {
    const ServiceCatalog c = builtin();
    struct Expect {
      std::string_view name;
      std::string_view company;
      std::string_view category;
    };
    // Names as clients send them (vendors' documentation), not copied from the catalog's lists.
    constexpr Expect kSample[] = {
        {"chat.deepseek.com", "deepseek", "ai-chat"},
        {"chatgpt.com", "openai", "ai-chat"},
        {"claude.ai", "anthropic", "ai-chat"},
        {"www.doubao.com", "chuntian-zhiyun", "ai-chat"},
        {"api.deepseek.com", "deepseek", "ai-api"},
        {"api.openai.com", "openai", "ai-api"},
        {"generativelanguage.googleapis.com", "google", "ai-api"},
        {"dashscope.aliyuncs.com", "alibaba-cloud", "ai-api"},
        {"dashscope-intl.aliyuncs.com", "alibaba-cloud-sg", "ai-api"},
        {"api.fireworks.ai", "fireworks", "ai-api"},
        {"integrate.api.nvidia.com", "nvidia", "ai-api"},
        {"api.ppinfra.com", "ppio", "ai-api"},
        {"spark-api-open.xf-yun.com", "iflytek", "ai-api"},
        {"q.us-east-1.amazonaws.com", "aws", "ai-api"},
        {"www.trae.ai", "spring-sg", "ai-api"},
        {"api.coze.com", "spring-sg", "ai-chat"},
        {"app.klingai.com", "lohas-games", "ai-chat"},
        {"manus.im", "manus", "ai-chat"},
        {"bolt.new", "stackblitz", "ai-chat"},
        {"m365.cloud.microsoft", "microsoft", "ai-chat"},
        {"inference.api.nscale.com", "nscale", "ai-api"},
        {"api.scaleway.ai", "scaleway", "ai-api"},
        {"oai.endpoints.kepler.ai.cloud.ovh.net", "ovhcloud", "ai-api"},
        {"api.openai-compat.model-serving.eu01.onstackit.cloud", "stackit", "ai-api"},
        {"token-plan.ap-southeast-1.maas.aliyuncs.com", "alibaba-cloud-sg", "ai-api"},
        {"inference.generativeai.us-chicago-1.oci.oraclecloud.com", "oracle", "ai-api"},
        {"api.exa.ai", "exa", "ai-api"},
        {"api.firecrawl.dev", "sideguide", "ai-api"},
        {"api.roocode.com", "roo-code", "ai-api"},
        {"api.bfl.ai", "black-forest-labs", "ai-api"},
        {"bedrock-runtime.eu-central-2.amazonaws.com", "aws", "ai-api"},
        {"bedrock-runtime.us-west-2.api.aws", "aws", "ai-api"},
        {"api.modelverse.cn", "ucloud", "ai-api"},
        {"bedrock-mantle.eu-central-1.api.aws", "aws", "ai-api"},
        {"s3.dualstack.us-east-1.api.aws", "aws", "company-domain"},
        {"api2.qoder.sh", "bright-zenith", "ai-api"},
        {"api.cortecs.ai", "cortecs", "ai-api"},
        {"api.vectara.io", "vectara", "ai-api"},
        {"bedrock-agentcore.ap-southeast-2.amazonaws.com", "aws", "ai-api"},
        {"transcribestreaming.eu-west-1.amazonaws.com", "aws", "ai-api"},
        {"me-central2-aiplatform.googleapis.com", "google", "ai-api"},
        {"eu-discoveryengine.googleapis.com", "google", "ai-api"},
        {"my-deploy.swedencentral.models.ai.azure.com", "microsoft", "ai-api"},
        {"xyz-abc.us-east4-0.gcp.cloud.qdrant.io", "qdrant", "ai-api"},
        {"www.phind.com", "phind", "ai-chat"},
        {"aidoc.cnki.net", "cnki", "ai-chat"},
        {"api.d-id.com", "de-identification", "ai-api"},
        {"api.remove.bg", "canva-austria", "ai-api"},
        {"dreamina.capcut.com", "bytedance-sg", "ai-chat"},
        // Regional entities (sixth pass): international hosts name the regional entity, mainland
        // hosts keep the mainland one.
        {"sa.api.intl.miui.com", "xiaomi-sg", "company-domain"},
        {"zeus.ad.intl.xiaomi.com", "xiaomi-sg", "ads"},
        {"data.mistat.intl.xiaomi.com", "xiaomi-sg", "analytics"},
        {"stat.miui.com", "xiaomi-mobile", "company-domain"},
        {"mcs-ie.tiktokw.eu", "tiktok-ie", "company-domain"},
        {"api16-normal-useast5.tiktokv.us", "tiktok-us", "company-domain"},
        {"api16-normal-c-alisg.tiktokv.com", "tiktok-sg", "company-domain"},
        {"open.larksuite.com", "lark-sg", "company-domain"},
        {"account.alibabacloud.com", "alibaba-cloud-sg", "cloud"},
        {"oss-cn-hangzhou.aliyuncs.com", "alibaba-cloud", "cloud"},
        {"web.wechat.com", "wechat-intl", "company-domain"},
        {"cname-de-stsdk.vivoglobal.com", "vivo", "company-domain"},
        {"pps-log.op-mobile.opera.com", "opera-norway", "company-domain"},
        {"characterai.io", "character-ai", "ai-chat"},
        {"qianwen.biz.aliyun.com", "alibaba-cloud", "ai-chat"},
        {"sdk.photoroom.com", "photoroom", "ai-api"},
        {"www.google-analytics.com", "google", "analytics"},
        {"hm.baidu.com", "baidu-netcom", "analytics"},
        {"api-js.mixpanel.com", "mixpanel", "analytics"},
        {"app.appsflyer.com", "appsflyer", "attribution"},
        {"app.adjust.com", "adjust", "attribution"},
        {"googleads.g.doubleclick.net", "google", "ads"},
        {"connect.facebook.net", "meta", "ads"},
        {"api-access.pangolin-sdk-toutiao.com", "juliang-engine", "ads"},
        {"ib.adnxs.com", "microsoft", "ads"},
        {"fastlane.rubiconproject.com", "magnite", "ads"},
        {"match.adsrvr.org", "trade-desk", "ads"},
        {"track.adform.net", "adform", "ads"},
        {"ad.oceanengine.com", "juliang-engine", "ads"},
        {"sb.scorecardresearch.com", "comscore", "analytics"},
        {"eu1.api.segmentapis.com", "segment", "analytics"},
        {"control.kochava.com", "kochava", "attribution"},
        {"tr.snapchat.com", "snap", "ads"},
        {"in1.api.clevertap.com", "clevertap", "analytics"},
        {"api.instabug.com", "instabug", "crash-reporting"},
        {"browser-intake-datadoghq.com", "datadog", "apm"},
        {"bam.nr-data.net", "new-relic", "apm"},
        {"o1.ingest.sentry.io", "sentry", "crash-reporting"},
        {"crashlyticsreports-pa.googleapis.com", "google", "crash-reporting"},
        {"fp-it.fengkongcloud.com", "shumei", "fingerprinting"},
        {"verify.cmpassport.com", "china-mobile-internet", "identity"},
        {"log.snssdk.com", "bytedance", "telemetry"},
        {"mcs.snssdk.com", "bytedance", "telemetry"},
        {"mobile.events.data.microsoft.com", "microsoft", "telemetry"},
        {"featuregates.org", "statsig", "feature-flags"},
        {"app.launchdarkly.com", "launchdarkly", "feature-flags"},
        {"widget.intercom.io", "intercom", "customer-support"},
        {"static.geetest.com", "geetest", "anti-bot"},
        {"www.recaptcha.net", "google", "anti-bot"},
        {"fcm.googleapis.com", "google", "push"},
        {"api.jpush.cn", "jiguang", "push"},
        {"sdk.fra-01.braze.eu", "braze", "push"},
        {"api.push.oppomobile.com", "heytap", "push"},
        {"api-push.vivo.com.cn", "vivo", "push"},
        {"push-api.cloud.honor.com", "honor-software", "push"},
        {"device-api.urbanairship.com", "airship", "push"},
        {"api-01.moengage.com", "moengage", "push"},
        {"js.stripe.com", "stripe", "payments"},
        {"d1234.cloudfront.net", "aws", "cdn"},
        {"g.alicdn.com", "alibaba-cloud", "cdn"},
        {"s3.amazonaws.com", "aws", "cloud"},
        {"cos.ap-guangzhou.myqcloud.com", "tencent-cloud", "cloud"},
        {"dns.google", "google", "dns-resolver"},
        {"doh.pub", "tencent-cloud", "dns-resolver"},
        // Third tracker pass (sdk-more.yaml): SDK default, fallback and regional hosts.
        {"napi.growingio.com", "growingio", "analytics"},
        {"r.lr-ingest.io", "logrocket", "analytics"},
        {"sdk-api-v1.singular.net", "singular", "attribution"},
        {"tr.line.me", "ly-corp", "attribution"},
        {"cdn-global.configcat.com", "configcat", "feature-flags"},
        {"api.statsigcdn.com", "statsig", "feature-flags"},
        {"combine.asnapieu.com", "airship", "push"},
        {"server-api-push.meizu.com", "xingji-meizu", "push"},
        {"api-production.8-lives-cat.io", "revenuecat", "payments"},
        {"cdn.paddle.com", "paddle", "payments"},
        {"client.crisp.chat", "crisp", "customer-support"},
        {"beaconapi.helpscout.net", "helpscout", "customer-support"},
        {"api.workos.com", "workos", "identity"},
        {"js-cdn.dynatrace.com", "dynatrace", "apm"},
        {"arms-retcode-sg.aliyuncs.com", "alibaba-cloud-sg", "apm"},
        {"ads.yahoo.com", "yahoo", "ads"},
        {"notify.bugsnag.smartbear.com", "smartbear", "crash-reporting"},
        {"px.ads.linkedin.com", "linkedin", "ads"},
        {"ct.pinterest.com", "pinterest", "ads"},
        {"js.hs-analytics.net", "hubspot", "analytics"},
        {"widget-mediator.zopim.com", "zendesk", "customer-support"},
        // Fourth tracker pass (sdk-tail.yaml).
        {"otlp.arize.com", "arize", "apm"},
        {"api.smith.langchain.com", "langchain", "apm"},
        {"trace.wandb.ai", "wandb", "apm"},
        {"assets.secure.checkout.visa.com", "visa", "payments"},
        {"static-eu.payments-amazon.com", "amazon-payments-eu", "payments"},
        {"x.klarnacdn.net", "klarna", "payments"},
        {"telemetry.stytch.com", "stytch", "telemetry"},
        {"api.stytch.com", "stytch", "identity"},
        {"api.raygun.io", "raygun", "crash-reporting"},
        {"cdn.eu.pendo.io", "pendo", "analytics"},
        {"app.unleash-hosted.com", "bricks-software", "feature-flags"},
        {"www.1688.com", "alibaba", "company-domain"},
        {"www.toutiao.com", "bytedance", "company-domain"},
        // Registry verification, second round: LinkedIn's own domains, Huawei push SDK provider.
        {"www.linkedin.com", "linkedin", "company-domain"},
        {"static.licdn.com", "linkedin", "company-domain"},
        {"push-api.cloud.huawei.com", "huawei-software", "push"},
        // OEM pass (oem-seventh.yaml): OPPO mainland domains keep the mainland entity, the HeyTap
        // overseas domains name HEYTAP PTE. LTD., and the push/ad SDK hosts stay more specific.
        {"conn1.oppomobile.com", "oppo", "company-domain"},
        {"httpdns.push.heytapmobi.com", "heytap", "push"},
        {"uapi.ads.heytapmobi.com", "oppo", "ads"},
        {"iot-app-fr.heytapmobile.com", "oppo", "company-domain"},
        {"www.heytapmobile.com", "heytap-sg", "company-domain"},
        {"push.samsungosp.com", "samsung-electronics", "push"},
        {"www.samsungknox.com", "samsung-electronics", "company-domain"},
        {"ravm.tv", "roku", "company-domain"},
        {"lgappstv.com", "lg-electronics", "company-domain"},
        // Seventh pass, long-tail and legacy mobile SDKs (sdk-seventh.yaml).
        {"cws.conviva.com", "conviva", "analytics"},
        {"img.litix.io", "mux", "analytics"},
        {"nqs.nice264.com", "npaw", "analytics"},
        {"ssl.p.jwpcdn.com", "jwplayer", "analytics"},
        {"api.apptentive.com", "apptentive", "customer-support"},
        {"api.keen.io", "keen-io", "analytics"},
        {"e.apsalar.com", "singular", "attribution"},
        {"events.uber.com", "uber", "company-domain"},
        {"ad.cauly.co.kr", "futurestream-networks", "ads"},
        {"appload.ingest.crittercism.com", "vmware", "crash-reporting"},
        {"prov.alphonso.tv", "alphonso", "ads"},
    };
    for (const auto& e : kSample) {
      CAPTURE(e.name);
      const Service* s = c.match(e.name);
      REQUIRE(s != nullptr);
      CHECK(s->company == e.company);
      CHECK(enrich::category_name(s->category) == e.category);
    }
  }
}
