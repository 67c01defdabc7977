/** Outgoing webhooks by the Standard Webhooks spec: signing secrets, signatures, one classified delivery. */
export * from './signing';
export * from './deliver';
