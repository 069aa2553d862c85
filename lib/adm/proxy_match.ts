/**
 * Former home of drbdadm's proxy host selection, now in lib/config (`matchOnProxy` of
 * lib/config/mod.ts); kept so that existing imports resolve until they move.
 *
 * @module
 */
export { matchOnProxy } from "../config/proxy_match.ts";
