/** The Odoo client (no Node-RED import): typed API over XML-RPC, JSON-RPC and JSON-2, PDFs, typed errors. */
export { OdooClient, isReadOnlyMethod } from './client';
export type { OdooClientOptions, SearchReadQuery, PagedQuery, Page, MessagePostOptions, Domain, OdooRecord, Context } from './client';
export { fetchRecordPdf, DEFAULT_INVOICE_REPORT } from './pdf';
export type { PdfPath, PdfAttempt, PdfRequest, PdfResult } from './pdf';
export { odooError, faultFromXmlRpc, faultFromJson, MARSHAL_NONE } from './errors';
export type { ProtocolName, VersionInfo } from './protocols';
export { parseMethodResponse, serializeMethodCall, parseMethodCall, serializeValue } from './xmlrpc';
export { ChangeFeed } from './changes';
export type { ChangeFeedOptions, CursorState, CursorStore, ChangeSource, WebhookPayload, WebhookOutcome } from './changes';
