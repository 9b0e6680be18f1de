"""The AdGuard companiesdb part of scripts/import-catalog: writes data/services/imported-companiesdb.yaml.

    scripts/import-catalog --companiesdb /path/to/companiesdb [--companiesdb-commit SHA] [--data data]

companiesdb (CC BY-SA 4.0, notice: data/services/LICENSE-companiesdb) maps tracker domains to trackers
and trackers to companies and categories; it has no company country. Its tracker records are of two
origins: most are the WhoTracks.me database, converted (2023-06) from Ghostery's trackerdb, which is
published under CC BY-NC-SA 4.0 (non-commercial); the others are AdGuard's own additions, marked
`"source": "AdGuard"` in dist/trackers.json. Only AdGuard's own records are imported; the others are
counted and skipped (data/README.md has the licence chain).

A record is imported when its company is in COMPANIES (companiesdb companyId -> a company of
data/companies.yaml, by hand) and its category in CATEGORIES. Every other catalog file wins: a name
already there is left out (a conflict is printed when the companies differ), and so is a name whose
import would put one company's purpose-specific entry over another company's names (above or beneath
it). Each entry's `source` names the file, its commit and the tracker key.
"""
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict

import yaml

REPO = "https://github.com/AdguardTeam/companiesdb"
OUT = "imported-companiesdb.yaml"
MAX_FILE = 64 << 20

# companiesdb companyId -> company id in data/companies.yaml. Only companies whose identity is the same
# legal person or group the registry names (checked by hand); the rest are listed as skipped.
COMPANIES = {
    "google": "google", "microsoft": "microsoft", "apple": "apple", "meta": "meta", "adobe": "adobe",
    "akamai": "akamai", "cloudflare": "cloudflare", "fastly": "fastly", "adguard": "adguard", "jetbrains": "jetbrains",
    "unity": "unity", "applovin": "applovin", "openai": "openai", "xiaomi": "xiaomi", "twitter": "x-corp",
    "digital_turbine": "digital-turbine", "appsflyer": "appsflyer", "braze": "braze", "upland": "upland",
    "branch_metrics_inc": "branch", "yandex": "yandex", "oracle": "oracle", "comscore": "comscore",
    "criteo": "criteo", "taboola": "taboola", "pubmatic": "pubmatic", "openx": "openx", "quantcast": "quantcast",
    "lotame": "lotame", "chartbeat": "chartbeat", "mixpanel": "mixpanel", "amplitude": "amplitude",
    "segment": "segment", "hotjar": "hotjar", "fullstory": "fullstory", "new_relic": "new-relic",
    "sentry": "sentry", "onesignal": "onesignal", "intercom": "intercom", "zendesk": "zendesk",
    "optimizely": "optimizely", "adform": "adform", "the_trade_desk": "trade-desk",
    "integral_ad_science": "integral-ad-science", "tencent": "tencent", "baidu": "baidu", "alibaba": "alibaba",
    # third tracker pass (issue 14)
    "crisp": "crisp", "customer.io": "customerio", "dynatrace": "dynatrace", "livechat": "text-inc",
    "smartlook": "smartlook", "urban_airship": "airship", "line": "ly-corp",
}

# companiesdb category name -> catalog category. Purpose-specific where the category says what the
# domain is for; everything else (essential, misc, social_media, ...) is the company-domain fallback.
CATEGORIES = {
    "advertising": "ads", "pornvertising": "ads", "site_analytics": "analytics", "mobile_analytics": "analytics",
    "telemetry": "telemetry", "cdn": "cdn", "hosting": "cloud",
    "audio_video_player": "company-domain", "comments": "company-domain", "customer_interaction": "company-domain",
    "essential": "company-domain", "social_media": "company-domain", "misc": "company-domain",
    "email": "company-domain", "consent": "company-domain", "extensions": "company-domain",
}
FALLBACK = {"company-domain", "cloud", "cdn"}


def load_catalog(data):
    """Every name of the other catalog files: (kind, name) -> (id, company, category, file)."""
    companies = {c["id"]: c for c in yaml.safe_load(open(os.path.join(data, "companies.yaml")))["companies"]}
    claimed = {}
    services_dir = os.path.join(data, "services")
    for fn in sorted(os.listdir(services_dir)):
        if not fn.endswith(".yaml") or fn == OUT:
            continue
        for s in (yaml.safe_load(open(os.path.join(services_dir, fn))) or {}).get("services") or []:
            owner = s.get("company") or s.get("operator", "")
            for kind, key in (("domain", "domains"), ("full", "hosts")):
                for n in s.get(key) or []:
                    claimed[(kind, n)] = (s["id"], owner, s.get("category", ""), fn)
    return companies, claimed


def read_trackers(path):
    if os.path.isdir(path):
        path = os.path.join(path, "dist", "trackers.json")
    try:
        if os.path.getsize(path) > MAX_FILE:
            sys.exit(f"import-catalog: {path}: larger than {MAX_FILE >> 20} MiB, refused")
        doc = json.load(open(path, encoding="utf-8"))
    except (OSError, ValueError) as e:
        sys.exit(f"import-catalog: {path}: {e}")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), dict)
                                            for k in ("categories", "trackers", "trackerDomains")):
        sys.exit(f"import-catalog: {path}: not a companiesdb trackers.json (categories, trackers, trackerDomains)")
    return doc


def resolve_commit(path, commit):
    if not commit:
        where = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        try:
            commit = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], check=True, capture_output=True,
                                    text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            sys.exit("import-catalog: --companiesdb is not in a git checkout; pass --companiesdb-commit SHA")
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        sys.exit(f"import-catalog: commit {commit!r} is not a 40-digit hex SHA")
    return commit


def entry_id(key):
    return "cdb-" + re.sub(r"[^a-z0-9_.-]", "-", key.lower())[:120]


def run(path, commit, data, name_ok, quote):
    doc = read_trackers(path)
    commit = resolve_commit(path, commit)
    companies, claimed = load_catalog(data)
    for cdb, ours in COMPANIES.items():
        if ours not in companies:
            sys.exit(f"import-catalog: COMPANIES[{cdb!r}] names company {ours!r}, not in companies.yaml")
    # Which companies own names beneath each domain: a purpose-specific import must not cover them.
    beneath = defaultdict(set)
    for (_, name), (_, owner, _, _) in claimed.items():
        labels = name.split(".")
        for i in range(1, len(labels) - 1):
            beneath[".".join(labels[i:])].add(owner)

    def above(name):
        labels = name.split(".")
        for i in range(1, len(labels) - 1):
            hit = claimed.get(("domain", ".".join(labels[i:])))
            if hit:
                return hit
        return None

    trackers, categories = doc["trackers"], doc["categories"]
    stats = Counter()
    skipped_companies = Counter()
    conflicts, problems = [], []
    entries = defaultdict(list)  # tracker key -> names
    for name, key in sorted(doc["trackerDomains"].items()):
        t = trackers.get(key) if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", key) else None
        if not isinstance(t, dict):
            stats["no tracker"] += 1
            continue
        if t.get("source") != "AdGuard":
            stats["WhoTracks.me-derived (licence)"] += 1
            continue
        cdb_company = t.get("companyId")
        company = COMPANIES.get(cdb_company) if isinstance(cdb_company, str) else None
        if company is None:
            skipped_companies[str(cdb_company)] += 1
            stats["company not mapped"] += 1
            continue
        category = CATEGORIES.get(categories.get(str(t.get("categoryId")), ""))
        if category is None:
            stats["category not mapped"] += 1
            continue
        name = name.lower() if isinstance(name, str) else ""
        if not name_ok(name):
            stats["invalid name"] += 1
            problems.append(f"trackerDomains {name!r} ({key}): not a name the catalog takes, skipped")
            continue
        hit = claimed.get(("domain", name)) or claimed.get(("full", name))
        if hit is None:
            up = above(name)
            if up and (up[1] != company or category in FALLBACK):
                hit = up  # another company's subtree, or a fallback that would add nothing beneath one
        if hit is None and category not in FALLBACK and beneath[name] - {company}:
            hit = ("(names beneath)", ", ".join(sorted(beneath[name] - {company})), "", "")
        if hit is not None:
            stats["already in the catalog"] += 1
            if hit[1] != company:
                conflicts.append(f"domain {name}: companiesdb {key} says {company}; {hit[3] or 'catalog'} entry "
                                 f"{hit[0]} says {hit[1]}: the catalog wins")
            continue
        entries[key].append(name)
        stats["imported"] += 1

    out = os.path.join(data, "services", OUT)
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"# GENERATED by scripts/import-catalog from AdguardTeam/companiesdb dist/trackers.json at commit\n"
                f"# {commit}. CC BY-SA 4.0 (see LICENSE-companiesdb): this file is under that licence.\n"
                "# Only AdGuard's own records (not the WhoTracks.me-derived ones); every other catalog file wins.\n"
                "# Do not edit: change COMPANIES / CATEGORIES in scripts/catalog_companiesdb.py and run again.\n")
        f.write("services:\n" if entries else "services: []\n")
        for key in sorted(entries):
            t = trackers[key]
            company = companies[COMPANIES[t["companyId"]]]
            category = CATEGORIES[categories[str(t["categoryId"])]]
            f.write(f"  - id: {entry_id(key)}\n    name: {quote(str(t.get('name') or key) + ' (imported)')}\n"
                    f"    category: {category}\n    company: {company['id']}\n    operator: {quote(company['name'])}\n"
                    f"    jurisdiction: {company['jurisdiction']}\n    domains:\n")
            for n in sorted(entries[key]):
                f.write(f"      - {n}\n")
            f.write(f"    source: {REPO}/blob/{commit}/dist/trackers.json (tracker {quote(key)})\n")
    print(f"wrote {out}: {len(entries)} entries")
    for line in conflicts:
        print("conflict:", line)
    for line in problems:
        print("note:", line)
    print("skipped companies (not in COMPANIES, names): " +
          ", ".join(f"{c} {n}" for c, n in skipped_companies.most_common()))
    print("companiesdb: " + "; ".join(f"{k}: {v}" for k, v in sorted(stats.items())))
