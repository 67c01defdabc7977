/** The Nextcloud client of the pack (no Node-RED import): WebDAV files, chunked upload v2, OCS shares, safe paths. */
export * from './client';
export * from './paths';
export { type Share, type ShareOptions, type ShareType, daysFromNow, generateSharePassword, isValidDate, localDate } from './ocs';
export { CookieJar } from './session';
