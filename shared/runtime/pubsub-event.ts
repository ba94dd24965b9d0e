/** The parts of a Pub/Sub CloudEvent (`google.cloud.pubsub.topic.v1.messagePublished`) the runtime reads. */
export interface PubSubCloudEvent {
  id?: string;
  source?: string;
  type?: string;
  data?: {
    message?: {
      data?: string;
      attributes?: Record<string, string>;
      messageId?: string;
      message_id?: string;
      publishTime?: string;
    };
    subscription?: string;
  };
}

export function messageIdOf(event: PubSubCloudEvent): string {
  const message = event.data?.message;
  return message?.messageId ?? message?.message_id ?? event.id ?? 'unknown';
}
