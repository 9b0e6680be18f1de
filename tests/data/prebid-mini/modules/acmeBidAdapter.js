// Written by hand for tests/e2e/import_prebid_test.cc: not Prebid.js code.
// See https://docs.commented-out.com/bidder: a comment, never read.
const ENDPOINT = 'https://ads.acme-ssp.com/openrtb2/auction';
const STAGE = 'https://ads-stg.acme-ssp.com/bid';
const STAGE2 = "https://stg2.acme-ssp.com/bid";
const SYNC = `https://sync.acme-ssp.com/usersync?gdpr=${gdpr ? 1 : 0}`;
const REGIONAL = `https://${region}.acme-ssp.com/bid`;
const QUOTES = /['"`]/g; const AFTER_REGEX = 'https://render.acme-ssp.com/r.js';
const CDN = 'https://cdn.jsdelivr.net/npm/acme.js';
const OLD = 'https://old.acme-ssp.com/x';
const RENDERER = '//video.acme-ssp.com/player.js';
const LOCAL = 'http://localhost:9999/bid';
const SHARED = 'https://px.acme-shared.com/p';
const BOTH = 'https://sync.both-parties.com/s';
const ratio = width / height / 2; const NOT_A_URL = 'a/b//c.acme-ssp.com';
export function isPrebidUrl(u) { return u.startsWith('https://'); }
// The old endpoint was 'https://legacy.acme-ssp.com/bid' /* and "https://older.acme-ssp.com" */
const ZETA_PIXEL = 'https://px.zeta-cdn.net/p';
