// Written by hand for tests/e2e/import_prebid_test.cc: not Prebid.js code.
export const ID_HOST = 'https://id.zeta-id.net/v2/fetch';
