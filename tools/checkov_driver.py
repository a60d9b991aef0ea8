"""Run checkov inside its own tool environment (.tools/checkov), for caseshield/thirdparty_checkov.py.

Started before the stacks are evaluated, it imports checkov (the slow part) while the caller works. Each line of
stdin is then one request, {"argv": [...], "out": "<file>"}: a forked child runs checkov's own command line with
those arguments and writes checkov's output to that file. So each stack's plan is judged as soon as that stack is
evaluated, while the next one evaluates; a fresh child per request because checkov keeps a run's results in its
runners. End of input: wait for every child; the exit code is non-zero if any child failed. Nothing goes to the
network: the caller passes --skip-download.
"""

import contextlib
import json
import os
import sys
import traceback

from checkov.main import Checkov  # type: ignore[import-not-found]


def judge(request: dict) -> int:
    try:
        with open(request["out"], "w", encoding="utf-8") as out, contextlib.redirect_stdout(out):
            Checkov(argv=list(request["argv"])).run()
    except BaseException:  # reported to the caller through stderr and the exit code
        traceback.print_exc()
        return 3
    return 0


def main() -> int:
    children = []
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = judge(request)
            sys.stderr.flush()
            os._exit(code)
        children.append(pid)
    failed = [pid for pid in children if os.waitpid(pid, 0)[1] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
