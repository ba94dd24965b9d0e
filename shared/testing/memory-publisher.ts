import type { Publisher } from '../ports/publisher.ts';

export interface PublishedMessage {
  topic: string;
  message: unknown;
  attributes: Record<string, string>;
  messageId: string;
}

/** Records what was published; `failNext` makes the next publishes throw, as an outage would. */
export class MemoryPublisher implements Publisher {
  readonly published: PublishedMessage[] = [];
  private failures = 0;

  failNext(times: number): void {
    this.failures = times;
  }

  publish(topic: string, message: unknown, attributes: Record<string, string> = {}): Promise<string> {
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(
        Object.assign(new Error('14 UNAVAILABLE: injected publish failure'), { code: 14 }),
      );
    }
    const messageId = String(this.published.length + 1);
    this.published.push({ topic, message: structuredClone(message), attributes, messageId });
    return Promise.resolve(messageId);
  }

  on(topic: string): unknown[] {
    return this.published.filter((p) => p.topic === topic).map((p) => p.message);
  }
}
