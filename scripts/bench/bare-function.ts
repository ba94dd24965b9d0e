// The baseline of benchmark 9: a functions-framework process with nothing of phasegate in it,
// what every function process of `npm start` costs before phasegate's own code loads.
import * as functions from '@google-cloud/functions-framework';

functions.http('bare', (_req, res) => {
  res.status(204).send('');
});
