export interface Publisher {
  /** Resolves with the message id once Pub/Sub has accepted the message. */
  publish(topic: string, message: unknown, attributes?: Record<string, string>): Promise<string>;
}
