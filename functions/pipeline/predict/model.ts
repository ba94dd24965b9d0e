import type { GameFeatures } from '../precompute/features.ts';

/**
 * net-rating-logistic-v1: P(home wins) = 1 / (1 + e^-(HOME_EDGE + NET_WEIGHT * netRatingDiff)),
 * clamped to [0.05, 0.95]. HOME_EDGE 0.25 makes two equal teams 56% for the home side (about
 * the playoff home win rate); NET_WEIGHT 0.05 moves it about 1.2 points of probability per point
 * of last-5 net rating difference. Hand-set, not fitted: a baseline to grade, not a product.
 */
export const MODEL_VERSION = 'net-rating-logistic-v1';
export const HOME_EDGE = 0.25;
export const NET_WEIGHT = 0.05;

export function homeWinProbability(features: Pick<GameFeatures, 'netRatingDiff'>): number {
  const p = 1 / (1 + Math.exp(-(HOME_EDGE + NET_WEIGHT * features.netRatingDiff)));
  return Math.round(Math.min(0.95, Math.max(0.05, p)) * 10_000) / 10_000;
}

export interface Grade {
  actualWinner: string;
  correct: boolean;
  /** (p - outcome)^2 for the home side: 0 is perfect, 0.25 is a coin flip. */
  brier: number;
}

export function grade(
  prediction: { homeTeam: string; homeWinProbability: number; predictedWinner: string },
  actualWinner: string,
): Grade {
  const outcome = actualWinner === prediction.homeTeam ? 1 : 0;
  return {
    actualWinner,
    correct: prediction.predictedWinner === actualWinner,
    brier: Math.round((prediction.homeWinProbability - outcome) ** 2 * 10_000) / 10_000,
  };
}
