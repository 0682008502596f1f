"""One process of the two-process budget test: N questions on T threads, all through the
real service (budget + provider) against the loopback server. Prints "answered refused"."""

from __future__ import annotations

import os
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

from mira_ls import config
from mira_ls.llm.budget import BudgetRefused
from mira_ls.llm.service import LlmService, Question
from mira_ls.store import open_store


def main() -> int:
    n, threads = int(sys.argv[1]), int(sys.argv[2])
    settings, problems = config.load()
    assert not problems, problems
    store = open_store(os.environ["MIRA_DB"])
    svc = LlmService(store, settings)
    tag = uuid.uuid4().hex[:8]

    def one(i: int) -> bool:
        # ~1,200 prompt tokens by our count: more than the 1,000 the server will report,
        # as a real server's count of the same text is never above ours plus the margin.
        q = f"question {tag}-{i}: what is {i} squared? " + "context " * 1200
        try:
            svc.ask(Question(q, q, "chat", use_tools=False, new_session=True))
            return True
        except BudgetRefused:
            return False

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, range(n)))
    print(sum(results), len(results) - sum(results))
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
