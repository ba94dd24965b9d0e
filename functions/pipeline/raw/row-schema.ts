import { z } from 'zod';

/** A number as the feed writes it: `48.0`, `11`, `-12.0`; empty is not zero. */
const numeric = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, 'not a number')
  .transform(Number);
const count = numeric.pipe(z.number().int('not a whole number').nonnegative());

/**
 * `AVAILABLE_FLAG` arrives as `1`, `1.0`, `0.0`, `2` or empty. Normalised to a number;
 * empty is null (unknown), not 0.
 */
const availableFlag = z
  .string()
  .regex(/^(\d+(\.0+)?)?$/, 'AVAILABLE_FLAG must be a whole number or empty')
  .transform((v) => (v === '' ? null : Number(v)));

/** One team's box score row, validated and typed. Rank columns are season ranks and are not kept. */
export const TeamRowSchema = z
  .object({
    SEASON_YEAR: z.string().regex(/^\d{4}-\d{2}$/, 'season must look like 2023-24'),
    TEAM_ID: z.string().regex(/^\d+$/, 'TEAM_ID must be digits'),
    TEAM_ABBREVIATION: z.string().regex(/^[A-Z]{2,4}$/, 'team must be a tricode'),
    TEAM_NAME: z.string().min(1),
    GAME_ID: z.string().regex(/^\d{10}$/, 'GAME_ID must be 10 digits'),
    GAME_DATE: z.string().regex(/^\d{4}-\d{2}-\d{2}(T.*)?$/, 'GAME_DATE must start YYYY-MM-DD'),
    MATCHUP: z
      .string()
      .regex(/^[A-Z]{2,4} (vs\.|@) [A-Z]{2,4}$/, 'MATCHUP must be "AAA vs. BBB" or "AAA @ BBB"'),
    WL: z.enum(['W', 'L']),
    MIN: numeric
      .pipe(
        z
          .number()
          .min(48)
          .max(48 + 5 * 10),
      )
      .refine((m) => (m - 48) % 5 === 0, 'minutes must be 48 plus 5 per overtime'),
    FGM: count,
    FGA: count,
    FG3M: count,
    FG3A: count,
    FTM: count,
    FTA: count,
    OREB: count,
    DREB: count,
    REB: count,
    AST: count,
    TOV: count,
    STL: count,
    BLK: count,
    PF: count,
    PTS: count,
    PLUS_MINUS: numeric,
    AVAILABLE_FLAG: availableFlag,
  })
  .superRefine((r, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (r.FGM > r.FGA) fail('FGM exceeds FGA');
    if (r.FG3M > r.FG3A) fail('FG3M exceeds FG3A');
    if (r.FG3M > r.FGM) fail('FG3M exceeds FGM');
    if (r.FTM > r.FTA) fail('FTM exceeds FTA');
    if (r.REB !== r.OREB + r.DREB) fail(`REB ${r.REB} is not OREB + DREB (${r.OREB + r.DREB})`);
    if (r.PTS !== 2 * r.FGM + r.FG3M + r.FTM)
      fail(`PTS ${r.PTS} is not 2*FGM + FG3M + FTM (${2 * r.FGM + r.FG3M + r.FTM})`);
    if (!r.MATCHUP.startsWith(`${r.TEAM_ABBREVIATION} `))
      fail(`MATCHUP "${r.MATCHUP}" does not start with the team ${r.TEAM_ABBREVIATION}`);
  });
export type TeamRow = z.infer<typeof TeamRowSchema>;
