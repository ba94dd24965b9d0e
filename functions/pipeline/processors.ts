import type { ProcessorRegistry } from '../../shared/index.ts';
import { seriesStateProcessor, teamRatingsProcessor } from './analytics/analytics-processors.ts';
import type { PipelineConfig } from './config.ts';
import type { referenceDefinitionInput } from './definition.ts';
import { gameFeaturesProcessor, teamFormProcessor } from './precompute/precompute-processors.ts';
import { gradePredictionsProcessor, predictGamesProcessor } from './predict/predict-processors.ts';
import { normalizeGamesProcessor, normalizeTeamStatsProcessor } from './raw/raw-processors.ts';
import { scrapeBoxscoresProcessor, scrapeScheduleProcessor } from './scrape/scrape.ts';

/** Every processor the definition names, by name: a missing or misspelt one does not compile. */
export function createReferenceProcessors(
  config: PipelineConfig,
): ProcessorRegistry<typeof referenceDefinitionInput> {
  return {
    'scrape-schedule': scrapeScheduleProcessor(config.sourceApiUrl),
    'scrape-boxscores': scrapeBoxscoresProcessor(config.sourceApiUrl),
    'normalize-games': normalizeGamesProcessor,
    'normalize-team-stats': normalizeTeamStatsProcessor,
    'team-ratings': teamRatingsProcessor,
    'series-state': seriesStateProcessor,
    'team-form': teamFormProcessor,
    'game-features': gameFeaturesProcessor,
    'predict-games': predictGamesProcessor,
    'grade-predictions': gradePredictionsProcessor,
  };
}
