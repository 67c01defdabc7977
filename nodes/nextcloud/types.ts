/** Types and helpers shared by the Nextcloud nodes (a node module itself may export only its function). */
import type { Node, NodeDef } from 'node-red';
import { configNodeOf, missingConfigError } from '../lib/config-node';
import { type IntegrationError } from '../clients/common/errors';
import type { NextcloudClient } from '../clients/nextcloud/client';

export interface NextcloudConfigDef extends NodeDef {
  url: string;
  username: string;
  /** Request idle timeout, seconds. */
  timeout: string | number;
  /** Chunk size for chunked upload, MiB. */
  chunkSizeMb: string | number;
  /** Uploads above this many MiB go chunked. */
  thresholdMb: string | number;
  /** Share creations allowed per 10 minutes (Nextcloud's own limit is 20); 0 = no count of the client's own. */
  shareLimit: string | number;
  /** Accept self-signed TLS certificates (test servers only). */
  insecure: boolean;
}

export interface NextcloudConfigCredentials {
  appPassword?: string;
}

export interface NextcloudConfigNode extends Node<NextcloudConfigCredentials> {
  /** The server root, for display (no secret). */
  readonly url: string;
  readonly username: string;
  register(user: Node): void;
  deregister(user: Node): void;
  /** The client of this config node (one per config node, shared by its users). Throws when not configured. */
  getClient(): NextcloudClient;
  /** Tells the config node how an operation ended, so every user shows the connection state. */
  report(err?: unknown): void;
  /** Sends the login again after Nextcloud refused it (an operator fixed the password or lifted the block). */
  retryLogin(): Promise<{ state: string; error?: string }>;
}

/** The config node a user node names, if it is one. */
export function nextcloudConfigOf(RED: { nodes: { getNode(id: string): unknown } }, id: string | undefined): NextcloudConfigNode | undefined {
  return configNodeOf<NextcloudConfigNode>(RED, id, 'getClient');
}

export function notConfigured(user: Node): IntegrationError {
  return missingConfigError(user, 'nextcloud', 'Nextcloud connection', 'clinica-nextcloud-config');
}
