/**
 * What a subscription that nothing consumes holds (control-dlq): messages the dead-letter recorder
 * itself could not record. Read by peeking (pull, then hand back at once), so reading never
 * consumes one: a person still finds each message where it was.
 */
export interface HeldMessages {
  subscription: string;
  /** Messages seen by one peek. */
  count: number;
  /** The peek saw as many as it asks for: there may be more (Cloud Monitoring's num_undelivered_messages has the exact figure). */
  atLeast: boolean;
  /** The earliest published of those seen. */
  oldest: { messageId: string; publishTime: string; sourceSubscription: string | null; bytes: number } | null;
}

export type PeekHeld = () => Promise<HeldMessages>;

/** One line for people: "control-dlq-sub holds 3 message(s), the oldest published ... from ...". */
export function describeHeld(held: HeldMessages): string {
  if (held.count === 0) return `${held.subscription} holds nothing`;
  const oldest = held.oldest
    ? `, the oldest published ${held.oldest.publishTime}${held.oldest.sourceSubscription ? ` from ${held.oldest.sourceSubscription}` : ''}`
    : '';
  return (
    `${held.subscription} holds ${held.count}${held.atLeast ? ' or more' : ''} message(s)${oldest}: ` +
    'the dead-letter recorder could not record them (README: control-dlq)'
  );
}
