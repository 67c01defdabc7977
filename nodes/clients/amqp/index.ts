/** The RabbitMQ client: connection, topology, confirmed publish, consumers with retries and dead letters. */
export * from './topology';
export * from './broker';
export * from './consumer';
