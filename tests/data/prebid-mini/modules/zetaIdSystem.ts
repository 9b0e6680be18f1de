// Written by hand for tests/e2e/import_prebid_test.cc: not Prebid.js code.
import {ID_HOST} from '../libraries/zetaUtils/hosts.js';
const LOG: string = "https://log.zeta-id.net/v1/log";
const BOTH = 'https://sync.both-parties.com/z';
