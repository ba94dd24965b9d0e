"""Runs gcloud commands in one Python process, with gcloud's own CLI object.

The Cloud SDK's `gcloud` script starts Python, loads the whole CLI and runs one command: about
a second of CPU each. A deploy plan is a hundred commands, run several times by the tests, so
this driver loads the CLI once and gives each command to `cli.Execute(argv)`, which is what the
script's `gcloud_main.main()` does: the same argument parsing, property resolution, API clients
and error handling. Each command's output is captured on its own; its exit code is gcloud's.

Protocol: one JSON array of arguments per line on stdin (without the leading "gcloud"); one JSON
object per command on fd 3: {"code": int, "stdout": str, "stderr": str}.
"""
import io
import json
import os
import sys
import traceback

sdk_lib = os.path.join(os.environ['CLOUDSDK_ROOT_DIR'], 'lib')
sys.path.insert(0, sdk_lib)
sys.path.insert(0, os.path.join(sdk_lib, 'third_party'))

from googlecloudsdk import gcloud_main  # noqa: E402
from googlecloudsdk.core import log  # noqa: E402
from googlecloudsdk.core.credentials import creds_context_managers  # noqa: E402

cli = gcloud_main.CreateCLI([])
answers = os.fdopen(3, 'w')
answers.write(json.dumps({'ready': True}) + '\n')
answers.flush()

for line in sys.stdin:
  argv = json.loads(line)
  out, err = io.StringIO(), io.StringIO()
  saved = sys.stdout, sys.stderr
  sys.stdout, sys.stderr = out, err
  log.Reset(out, err)
  code = 0
  try:
    with creds_context_managers.CredentialProvidersManager(None):
      cli.Execute(argv)
  except SystemExit as exit:
    code = exit.code if isinstance(exit.code, int) else 1
  except BaseException as error:  # a crash of gcloud itself: report it as gcloud would
    err.write('gcloud crashed ({}): {}\n{}'.format(type(error).__name__, error, traceback.format_exc()))
    code = 1
  finally:
    sys.stdout, sys.stderr = saved
  answers.write(json.dumps({'code': code, 'stdout': out.getvalue(), 'stderr': err.getvalue()}) + '\n')
  answers.flush()
