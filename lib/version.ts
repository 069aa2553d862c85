/** The udrbd release this source tree builds. */
export const VERSION = "0.1.0";

/** The drbd-utils release whose behaviour udrbd reproduces. */
export const DRBD_UTILS_VERSION = "9.22.0";
